-- A batch run that ends without its worker's code (cancelled in River UI
-- or by `bin/server runs cancel`, deleted, or discarded by River's rescuer
-- after a crash on its last attempt) freed its batch's mark (00035), but
-- left two things undone:
--
--   - the events waiting in its batch got a run only with the batch's next
--     event, which for a quiet batch key may never come;
--   - the events the run had taken (its recorded $batch step: a run that
--     failed and waits for its retry keeps it, so the retry sends the same
--     events) were lost: the worker's own hand-back (fn/worker.go
--     handBack), which puts a failed run's take back in its batch, never
--     ran.
--
-- Now the trigger does both, in the transaction that ends the run:
--
--   - a recorded take goes back to its batch, and the step is deleted, as
--     handBack deletes it. A worker that drops a take on purpose (its
--     handler cancelled the run: refused for good) deletes the step first,
--     and one that hands it back has deleted it too.
--   - when the run owned the batch's mark (publishers in flight count on
--     it), or events wait in the batch with no mark, it marks the batch and
--     inserts its run, available now: a copy of the ended run (same kind,
--     args, queue, priority and attempts), which the mark names, with
--     River's insert notification for its queue.
--
-- A delete now fires the trigger before the row goes: the run's flow_steps
-- go with it (ON DELETE CASCADE), so its take is read first.
--
-- A run's function is its kind with '_' read as '-' (fn.Function.Kind; a
-- function id has no '_'), its batch key args.key ('' when absent). A job
-- that is not a batch run finds no $batch step and no row of
-- fn_batch_events: two more index probes for a job that ends cancelled or
-- discarded, or is deleted unfinished.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION fn_batch_run_ended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    run river_job;
    fn text;
    batch_key text;
    taken jsonb;
    owned boolean := false;
    next_id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        run := OLD;
    ELSE
        run := NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM fn_batch_events WHERE run_id = run.id) THEN
        DELETE FROM fn_batch_events WHERE run_id = run.id;
        owned := true;
    END IF;
    batch_key := coalesce(run.args ->> 'key', '');
    fn := replace(run.kind, '_', '-');

    DELETE FROM flow_steps WHERE job_id = run.id AND step = '$batch' RETURNING output INTO taken;
    IF taken IS NOT NULL AND jsonb_typeof(taken) = 'array' THEN
        INSERT INTO fn_batch_events (function, key, event_id)
        SELECT fn, batch_key, e FROM jsonb_array_elements_text(taken) AS e WHERE e > ''
        ON CONFLICT (function, key, event_id) DO NOTHING;
    END IF;

    IF owned OR EXISTS (SELECT 1 FROM fn_batch_events WHERE function = fn AND key = batch_key AND event_id > '') THEN
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
    IF TG_WHEN = 'BEFORE' THEN
        RETURN OLD;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

DROP TRIGGER IF EXISTS fn_batch_run_deleted ON river_job;
CREATE TRIGGER fn_batch_run_deleted BEFORE DELETE ON river_job FOR EACH ROW
    WHEN (OLD.state IN ('available', 'scheduled', 'retryable', 'pending', 'running'))
    EXECUTE FUNCTION fn_batch_run_ended();

-- +goose Down
DROP TRIGGER IF EXISTS fn_batch_run_deleted ON river_job;
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
CREATE TRIGGER fn_batch_run_deleted AFTER DELETE ON river_job FOR EACH ROW
    WHEN (OLD.state IN ('available', 'scheduled', 'retryable', 'pending', 'running'))
    EXECUTE FUNCTION fn_batch_run_ended();
