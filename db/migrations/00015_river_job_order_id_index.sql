-- Cancel-on finds a cancelled order's pending jobs by args->>'order_id'
-- (see jobargs.CancelOn). Built CONCURRENTLY, outside a transaction, so
-- migrating a live database does not block job inserts and fetches.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS river_job_order_id_idx ON river_job ((args ->> 'order_id')) WHERE args ? 'order_id';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS river_job_order_id_idx;
