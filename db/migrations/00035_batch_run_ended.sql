-- A batch's mark (its fn_batch_events row with event_id '') tells
-- publishers that a run of the batch is scheduled, so they schedule none.
-- A run that ends before it closed its batch leaves a mark that no run will
-- take, and the batch's events would wait forever: a run cancelled (River
-- UI, an operator's bulk cancel), discarded without running the worker's
-- own hand-back (River's rescuer, after a crash on its last attempt), or
-- deleted while it waited. When a run ends so and no other run of its
-- batch is live, this trigger deletes the mark: the batch's next event
-- marks it again and schedules a run, which takes the events waiting.
--
-- A batch run's kind is its function's id with '-' as '_' (ids are
-- [a-z0-9-]), and its key is args.key ('' when absent). Other kinds find
-- no mark: one primary-key probe, only for runs that end cancelled or
-- discarded, or are deleted before they ended (River's cleaner deletes
-- only ended jobs, which the WHEN clause skips).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION fn_batch_run_ended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    j river_job;
BEGIN
    IF TG_OP = 'DELETE' THEN
        j := OLD;
    ELSE
        j := NEW;
    END IF;
    DELETE FROM fn_batch_events AS m
    WHERE m.function = replace(j.kind, '_', '-') AND m.key = coalesce(j.args ->> 'key', '') AND m.event_id = ''
      AND NOT EXISTS (
          SELECT 1 FROM river_job AS o
          WHERE o.kind = j.kind AND o.id <> j.id AND coalesce(o.args ->> 'key', '') = m.key
            AND o.state IN ('available', 'scheduled', 'retryable', 'pending', 'running'));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER fn_batch_run_ended AFTER UPDATE OF state ON river_job FOR EACH ROW
    WHEN (NEW.state IN ('cancelled', 'discarded') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION fn_batch_run_ended();

CREATE TRIGGER fn_batch_run_deleted AFTER DELETE ON river_job FOR EACH ROW
    WHEN (OLD.state IN ('available', 'scheduled', 'retryable', 'pending', 'running'))
    EXECUTE FUNCTION fn_batch_run_ended();

-- +goose Down
DROP TRIGGER fn_batch_run_deleted ON river_job;
DROP TRIGGER fn_batch_run_ended ON river_job;
DROP FUNCTION fn_batch_run_ended();
