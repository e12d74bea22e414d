-- A wait registered while an event it matches is being published must not
-- miss it: the publisher may look for waits before the wait commits, and the
-- wait's first look for events before the event commits.
--
-- Until now every publisher took a shared advisory lock per event name
-- (flow_waited_names) for a new wait to wait on. That cost every publish a
-- trip through the shared lock manager, waits or not. Now the publisher
-- takes nothing more: it looks for open waits in the statement that inserts
-- its events (EventInsertMany), whose snapshot is taken after it has locked
-- the events table. A new wait, once committed, calls
-- flow_wait_for_publishers: it lists the transactions that hold a write lock
-- (RowExclusiveLock) on events in this database (pg_locks, fast-path locks
-- included; readers, such as a pg_dump, are not waited for) and waits until
-- each has ended (pg_stat_activity's xact_start changes), looking every
-- millisecond at first, then less often, up to every 50 ms. A publisher
-- whose look could not see the wait had locked events before the wait
-- committed, so it is on that list, and the wait's first look, after it,
-- sees its event.

-- +goose Up
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
        -- pg_stat_activity is read once per transaction unless cleared.
        PERFORM pg_stat_clear_snapshot();
        SELECT array_agg(k) INTO inflight FROM unnest(inflight) AS k
        WHERE EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid::text || '@' || a.xact_start::text = k);
    END LOOP;
    RETURN true;
END
$$;
-- +goose StatementEnd
DROP FUNCTION flow_waited_names(text[]);
-- A wait whose publishers in flight had not all ended within the time a run
-- gives them: its first look is still to be made.
ALTER TABLE flow_waits ADD COLUMN unsettled boolean NOT NULL DEFAULT false;

-- +goose Down
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
ALTER TABLE flow_waits DROP COLUMN unsettled;
DROP FUNCTION flow_wait_for_publishers(interval);
