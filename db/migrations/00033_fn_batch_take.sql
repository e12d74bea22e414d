-- A batch run's take of its events (FnBatchTake), as a function: its plan
-- must not depend on fn_batch_events' statistics, which lag behind a queue
-- that fills in seconds. Estimated at a few rows, the query that joined the
-- picked events back to the table by event_id sorted 100,000 events and
-- compared them row by row: 450 ms a take of 2,000, 23 s for 100,000
-- events. Here the pick reads the primary key in order (event_id > '' is
-- part of its index condition, so there is no sort) and the delete finds
-- the picked rows by ctid, which sqlc cannot name in a query of its own.
-- The picked rows are locked (FOR UPDATE), so their ctids cannot change.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION fn_batch_take(fn text, batch_key text, max_size integer) RETURNS SETOF text
LANGUAGE sql VOLATILE AS $$
    WITH open AS (
        DELETE FROM fn_batch_events AS b WHERE b.function = fn AND b.key = batch_key AND b.event_id = ''
    ), pick AS (
        SELECT p.ctid AS tid FROM fn_batch_events AS p
        WHERE p.function = fn AND p.key = batch_key AND p.event_id > ''
        ORDER BY p.event_id LIMIT max_size FOR UPDATE SKIP LOCKED
    ), taken AS (
        DELETE FROM fn_batch_events AS d WHERE d.ctid = ANY (ARRAY(SELECT tid FROM pick))
        RETURNING d.event_id
    )
    SELECT t.event_id FROM taken AS t ORDER BY t.event_id;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION fn_batch_take(text, text, integer);
