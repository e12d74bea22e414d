-- Lets "the jobs of one event" (GET /v1/events/{id}, and operators' SQL:
-- WHERE args->>'event_id' = '...') use an index instead of scanning river_job.
-- Built CONCURRENTLY (outside a transaction), so migrating a live database
-- does not block job inserts and fetches while the index builds.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS river_job_event_id_idx ON river_job ((args ->> 'event_id'));

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS river_job_event_id_idx;
