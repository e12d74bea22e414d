-- Steps of functions written with package flow (README, "Steps (flow)").
--
-- flow_steps holds one row per finished step of a job, with its output as
-- JSON: a later run of the job skips the step and returns that output. A
-- sleep's row is written when the sleep begins; its completed_at is the
-- wake time. flow_waits holds one row per WaitForEvent step still waiting:
-- outbox.Publish matches new events against the open waits (by event name
-- and one top-level field of the data) and wakes the parked jobs, in the
-- event's own transaction. Both go with their job when River deletes it.
--
-- The trigger closes the one gap Publish cannot: an event that matches a
-- wait while its job is still running, between registering the wait and
-- River recording the snooze that parks it. The snooze (River sets a
-- running job back to scheduled or available with one attempt fewer) then
-- finds the matched wait and makes the job available at once. It locks the
-- job's wait rows FOR SHARE, so it waits for a publisher that is matching
-- them and sees whether that publisher committed or rolled back.

-- +goose Up
CREATE TABLE flow_steps (
    job_id       bigint NOT NULL REFERENCES river_job (id) ON DELETE CASCADE,
    step         text NOT NULL CHECK (step <> '' AND char_length(step) <= 256),
    output       jsonb NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, step)
);

CREATE TABLE flow_waits (
    job_id           bigint NOT NULL REFERENCES river_job (id) ON DELETE CASCADE,
    step             text NOT NULL,
    event_name       text NOT NULL,
    -- A top-level field of the event's data and the text it must have.
    match_key        text NOT NULL,
    match_value      text NOT NULL,
    -- Events received from since on match (after_event_id excepted).
    since            timestamptz NOT NULL,
    after_event_id   text NOT NULL DEFAULT '',
    deadline         timestamptz NOT NULL,
    matched_event_id text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, step)
);
CREATE INDEX flow_waits_open_idx ON flow_waits (event_name, match_key, match_value) WHERE matched_event_id IS NULL;

-- +goose StatementBegin
CREATE FUNCTION flow_wake_parked_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    matched text;
BEGIN
    FOR matched IN SELECT matched_event_id FROM flow_waits WHERE job_id = NEW.id FOR SHARE LOOP
        IF matched IS NOT NULL THEN
            NEW.state := 'available';
            NEW.scheduled_at := now();
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER flow_wake_parked_job BEFORE UPDATE ON river_job FOR EACH ROW
    WHEN (OLD.state = 'running' AND NEW.state IN ('scheduled', 'available') AND NEW.attempt < OLD.attempt)
    EXECUTE FUNCTION flow_wake_parked_job();

-- +goose Down
DROP TRIGGER flow_wake_parked_job ON river_job;
DROP FUNCTION flow_wake_parked_job();
DROP TABLE flow_waits;
DROP TABLE flow_steps;
