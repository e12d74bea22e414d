-- A batch's mark (its fn_batch_events row with event_id '') tells
-- publishers that a run of the batch is scheduled, so they schedule none.
-- A run that ends before it closed its batch leaves a mark that no run will
-- take, and the batch's events would wait forever: a run cancelled (River
-- UI, an operator's bulk cancel), discarded without running the worker's
-- own hand-back (River's rescuer, after a crash on its last attempt), or
-- deleted while it waited.
--
-- run_id names the run a mark counts on: whoever marks a batch and
-- schedules its run records that run (FnBatchRunsScheduled). When a run
-- ends so, the trigger deletes the mark it owns, if any: the batch's next
-- event marks it again and schedules a run, which takes the events waiting
-- too. A mark owned by another run (one scheduled after this run closed
-- the batch) is left to that run. The trigger's WHEN skips completions,
-- snoozes and River's cleaner (which deletes only ended jobs); for other
-- runs it is one index probe that finds nothing, and it takes no write
-- lock unless it deletes.
--
-- No transaction: the index is built CONCURRENTLY (fn_batch_events holds
-- every event waiting in a batch), and each statement can be run again.

-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE fn_batch_events ADD COLUMN IF NOT EXISTS run_id bigint;
CREATE INDEX CONCURRENTLY IF NOT EXISTS fn_batch_events_run_id_idx ON fn_batch_events (run_id) WHERE run_id IS NOT NULL;

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

CREATE OR REPLACE TRIGGER fn_batch_run_ended AFTER UPDATE OF state ON river_job FOR EACH ROW
    WHEN (NEW.state IN ('cancelled', 'discarded') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION fn_batch_run_ended();

CREATE OR REPLACE TRIGGER fn_batch_run_deleted AFTER DELETE ON river_job FOR EACH ROW
    WHEN (OLD.state IN ('available', 'scheduled', 'retryable', 'pending', 'running'))
    EXECUTE FUNCTION fn_batch_run_ended();

-- +goose Down
DROP TRIGGER IF EXISTS fn_batch_run_deleted ON river_job;
DROP TRIGGER IF EXISTS fn_batch_run_ended ON river_job;
DROP FUNCTION IF EXISTS fn_batch_run_ended();
DROP INDEX CONCURRENTLY IF EXISTS fn_batch_events_run_id_idx;
ALTER TABLE fn_batch_events DROP COLUMN IF EXISTS run_id;
