-- A batch run that ends without its worker's code (cancelled in River UI
-- or by `bin/server runs cancel`, deleted while it waited, or discarded by
-- River's rescuer after a crash on its last attempt) freed its batch's mark
-- (00035), but left two things undone:
--
--   - the events waiting in its batch got a run only with the batch's next
--     event, which for a quiet batch key may never come;
--   - the events a discarded run had taken (its recorded $batch step) were
--     lost: the worker's own hand-back (fn/worker.go handBack), which puts
--     a failed run's take back in its batch, never ran.
--
-- Now the trigger does both, in the transaction that ends the run:
--
--   - a discarded run's recorded take goes back to its batch (and the step
--     is deleted, as handBack deletes it). A cancelled run's take is left
--     to its worker, which saw the cancel: an operator's cancel of a
--     running run hands the take back, a handler's own cancel drops it.
--   - when events then wait in the batch and no run is marked for it, it
--     marks the batch and inserts its run, available now: a copy of the
--     ended run (same kind, args, queue, priority and attempts), which the
--     mark names, with River's insert notification for its queue.
--
-- A run's function is its kind with '_' read as '-' (fn.Function.Kind; a
-- function id has no '_'), its batch key args.key ('' when absent). A run of
-- a function that is not batched (or a key with no batch) finds no row of
-- fn_batch_events: one more index probe for a job that ends cancelled or
-- discarded.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION fn_batch_run_ended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    run river_job;
    fn text;
    batch_key text;
    taken jsonb;
    next_id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        run := OLD;
    ELSE
        run := NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM fn_batch_events WHERE run_id = run.id) THEN
        DELETE FROM fn_batch_events WHERE run_id = run.id;
    END IF;
    batch_key := coalesce(run.args ->> 'key', '');
    fn := replace(run.kind, '_', '-');

    IF TG_OP = 'UPDATE' AND run.state = 'discarded' THEN
        DELETE FROM flow_steps WHERE job_id = run.id AND step = '$batch' RETURNING output INTO taken;
        IF taken IS NOT NULL AND jsonb_typeof(taken) = 'array' THEN
            INSERT INTO fn_batch_events (function, key, event_id)
            SELECT fn, batch_key, e FROM jsonb_array_elements_text(taken) AS e WHERE e > ''
            ON CONFLICT (function, key, event_id) DO NOTHING;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM fn_batch_events WHERE function = fn AND key = batch_key AND event_id > '') THEN
        INSERT INTO fn_batch_events (function, key, event_id) VALUES (fn, batch_key, '')
        ON CONFLICT (function, key, event_id) DO NOTHING;
        IF FOUND THEN
            INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
            VALUES (run.args, run.kind, run.max_attempts, '{}', run.priority, run.queue, now(), 'available', '{}')
            RETURNING id INTO next_id;
            UPDATE fn_batch_events SET run_id = next_id WHERE function = fn AND key = batch_key AND event_id = '';
            PERFORM pg_notify(concat(current_schema(), '.river_insert'), json_build_object('queue', run.queue)::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION fn_batch_run_ended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        id := OLD.id;
    ELSE
        id := NEW.id;
    END IF;
    IF EXISTS (SELECT 1 FROM fn_batch_events WHERE run_id = id) THEN
        DELETE FROM fn_batch_events WHERE run_id = id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
