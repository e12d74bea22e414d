-- analytics_events gets an index on created_at for its retention
-- (ANALYTICS_RETENTION_DAYS), which scheduled_cleanup deletes in batches;
-- deliveries already has one (deliveries_created_at_idx). Built
-- CONCURRENTLY (outside a transaction), so migrating a live database does
-- not block the analytics flush's inserts while the index builds.
--
-- A database that applied 00016 before the index moved here has it
-- already: IF NOT EXISTS keeps it. A CONCURRENTLY build that is interrupted
-- leaves an invalid index of this name behind, which IF NOT EXISTS would
-- also keep: drop it (DROP INDEX CONCURRENTLY analytics_events_created_at_idx)
-- and migrate again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_events_created_at_idx ON analytics_events (created_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS analytics_events_created_at_idx;
