-- A batch's run must not leave behind the events of a publisher in flight.
-- A publisher adds its events to a batch and, when the batch has a run
-- scheduled (its mark, event_id ''), schedules none: ON CONFLICT DO NOTHING
-- on a committed mark neither waits nor locks. fn_batch_take deleted the
-- mark and picked the events in one snapshot, so a publisher that had seen
-- the mark and committed after that snapshot left its events with no mark
-- and no run, until the next event of the batch.
--
-- Now the run closes the batch first (FnBatchClose: deletes the mark, and
-- commits), then waits for the transactions that write fn_batch_events
-- (wait_for_writers): a publisher that saw the mark holds that lock from
-- the start of its statement, so it is among them. Its pick (fn_batch_take,
-- which no longer touches the mark) then sees their events. A publisher
-- that comes after the close finds no mark and schedules a run of its own.
--
-- wait_for_writers is flow_wait_for_publishers made generic: the wait for
-- publishers of events (a new wait's first look) and the wait for
-- publishers of a batch are the same mechanism on two tables.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION wait_for_writers(rel regclass, timeout interval) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    inflight text[];
    deadline timestamptz := clock_timestamp() + timeout;
    pause float8 := 0.001;
BEGIN
    -- The transactions, other than this one, that hold a write lock
    -- (RowExclusiveLock; fast-path locks included) on rel in this database,
    -- each named by its backend and the start of its transaction. Readers
    -- are not waited for.
    SELECT array_agg(DISTINCT a.pid::text || '@' || a.xact_start::text) INTO inflight
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'relation' AND l.relation = rel AND l.mode = 'RowExclusiveLock'
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL;
    -- Until each has ended (its backend's xact_start changed), looking every
    -- millisecond at first, then less often, up to every 50 ms.
    WHILE inflight IS NOT NULL LOOP
        IF clock_timestamp() >= deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(pause);
        pause := least(pause * 2, 0.05);
        -- pg_stat_activity is read once per transaction unless cleared.
        PERFORM pg_stat_clear_snapshot();
        SELECT array_agg(k) INTO inflight FROM unnest(inflight) AS k
        WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid::text || '@' || a.xact_start::text = k);
    END LOOP;
    RETURN true;
END
$$;
-- +goose StatementEnd
DROP FUNCTION flow_wait_for_publishers(interval);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION fn_batch_take(fn text, batch_key text, max_size integer) RETURNS SETOF text
LANGUAGE sql VOLATILE AS $$
    WITH pick AS (
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION fn_batch_take(fn text, batch_key text, max_size integer) RETURNS SETOF text
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
-- +goose StatementBegin
CREATE FUNCTION flow_wait_for_publishers(timeout interval) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    inflight text[];
    deadline timestamptz := clock_timestamp() + timeout;
    pause float8 := 0.001;
BEGIN
    SELECT array_agg(DISTINCT a.pid::text || '@' || a.xact_start::text) INTO inflight
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'relation' AND l.relation = 'events'::regclass AND l.mode = 'RowExclusiveLock'
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL;
    WHILE inflight IS NOT NULL LOOP
        IF clock_timestamp() >= deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(pause);
        pause := least(pause * 2, 0.05);
        PERFORM pg_stat_clear_snapshot();
        SELECT array_agg(k) INTO inflight FROM unnest(inflight) AS k
        WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid::text || '@' || a.xact_start::text = k);
    END LOOP;
    RETURN true;
END
$$;
-- +goose StatementEnd
DROP FUNCTION wait_for_writers(regclass, interval);
