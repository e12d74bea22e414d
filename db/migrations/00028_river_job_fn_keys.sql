-- The index of package fn's cancelOn on river_job, built CONCURRENTLY
-- (outside a transaction), so migrating a live database does not block
-- inserts while they build.
--
-- river_job_cancel_key_idx: cancelOn. A run of a function that declares
-- cancelOn carries, in args.ck, the value of its trigger event at the match
-- path (a function's cancelOns share one); the cancelling event's
-- transaction finds the runs by it. It replaces river_job_order_id_idx,
-- which served the cancel-on written for order_id alone.
--
-- A CONCURRENTLY build that is interrupted leaves an invalid index behind,
-- which IF NOT EXISTS would keep: drop it and migrate again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS river_job_cancel_key_idx ON river_job ((args ->> 'ck')) WHERE args ? 'ck';
DROP INDEX CONCURRENTLY IF EXISTS river_job_order_id_idx;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS river_job_order_id_idx ON river_job ((args ->> 'order_id')) WHERE args ? 'order_id';
DROP INDEX CONCURRENTLY IF EXISTS river_job_cancel_key_idx;
