-- Lets "the jobs of one event" (GET /v1/events/{id}, and operators' SQL:
-- WHERE args->>'event_id' = '...') use an index instead of scanning river_job.

-- +goose Up
CREATE INDEX river_job_event_id_idx ON river_job ((args ->> 'event_id'));

-- +goose Down
DROP INDEX river_job_event_id_idx;
