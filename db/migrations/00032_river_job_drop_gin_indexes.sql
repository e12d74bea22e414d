-- River's GIN indexes on river_job's args and metadata serve no query this
-- system (River 0.51, River UI 0.22, our queries) makes: River reads
-- metadata only of rows it already found by id, River UI filters by kind,
-- queue, state and id, and our lookups by a field of args have expression
-- indexes of their own (river_job_event_id_idx, river_job_cancel_key_idx).
-- Each cost every job insert its index entries and two more relation locks
-- in the publishing transaction, past the 16 a backend takes on the fast
-- path. Dropped CONCURRENTLY, outside a transaction, so inserts go on.
--
-- River's own migrations created them (file 00003); a later River migration
-- that drops or changes them must be checked against this file when River
-- is upgraded. Down builds them again.

-- +goose NO TRANSACTION
-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS river_job_args_index;
DROP INDEX CONCURRENTLY IF EXISTS river_job_metadata_index;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS river_job_args_index ON river_job USING GIN (args);
CREATE INDEX CONCURRENTLY IF NOT EXISTS river_job_metadata_index ON river_job USING GIN (metadata);
