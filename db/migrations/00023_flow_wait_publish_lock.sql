-- A wait registered while an event it matches is being published must not
-- miss it: the publisher may look for waits before the wait commits, and the
-- wait's first look for events before the event commits.
--
-- flow_waited_names is Publish's first look for waits (which of its event
-- names some open wait is waiting for). It first takes a shared
-- transaction-level advisory lock on each name, held until the publisher
-- commits, then looks with a fresh snapshot (a VOLATILE function's statement
-- takes one). A new wait, once committed, takes the exclusive lock on its
-- event name before its first look for events: it waits for every publisher
-- of that name still in flight, so it sees their events once they commit,
-- and every publisher that takes the lock after it sees the wait.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION flow_waited_names(names text[]) RETURNS SETOF text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('flow_waits:' || n, 0))
    FROM unnest(names) AS n;
    RETURN QUERY SELECT DISTINCT n FROM unnest(names) AS n
        WHERE EXISTS (SELECT 1 FROM flow_waits w WHERE w.event_name = n AND w.matched_event_id IS NULL);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION flow_waited_names(text[]);
