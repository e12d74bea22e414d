-- A WaitForEvent step matches a field at any depth of the event's data, not
-- only a top-level one: flow_waits.match_key is a path of object keys joined
-- with '.' ("orderId", "address.city"). A one-key path is a top-level field,
-- as before, so the waits already stored keep matching.
--
-- flow_leaves lists the fields Publish matches an event's data by: every
-- value reached through objects that is not itself an object, with its path
-- and its text (data #>> path: a string unquoted, a number's or boolean's
-- JSON text, an array as its JSON text; a JSON null has no text and matches
-- nothing). It does not go into arrays: "items.0.id" matches nothing when
-- an event is published. Publish probes flow_waits_open_idx once per field,
-- as it did per top-level field. It is PL/pgSQL, not a recursive CTE in an
-- SQL function: the planner inlines such a function into Publish's
-- statement and, guessing a million rows per event, compiles the statement
-- with JIT (over 100 ms a Publish); this one it plans as 10 rows an event.
--
-- rejected_event_ids are the matching events a wait's condition (flow.Wait's
-- If) turned down: its next looks skip them. A list, not a cursor past the
-- last one, because events are not ordered: those stored in one transaction
-- share received_at, and a transaction that began earlier may commit later.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION flow_leaves(doc jsonb) RETURNS TABLE (key text, value text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE ROWS 10 AS $$
DECLARE
    k text;
    v jsonb;
BEGIN
    IF jsonb_typeof(doc) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;
    FOR k, v IN SELECT m.key, m.value FROM jsonb_each(doc) AS m LOOP
        CASE jsonb_typeof(v)
        WHEN 'object' THEN
            RETURN QUERY SELECT k || '.' || l.key, l.value FROM flow_leaves(v) AS l;
        WHEN 'null' THEN
            NULL; -- no text: matches nothing
        ELSE
            key := k;
            value := v #>> '{}';
            RETURN NEXT;
        END CASE;
    END LOOP;
END
$$;
-- +goose StatementEnd

ALTER TABLE flow_waits ADD COLUMN rejected_event_ids text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE flow_waits DROP COLUMN rejected_event_ids;
DROP FUNCTION flow_leaves(jsonb);
