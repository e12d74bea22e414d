-- name: AnalyticsPendingInsertMany :exec
-- Queues tracked events for the analytics sink (one row per event id).
INSERT INTO analytics_pending (event_id) SELECT unnest(@event_ids::text[]);

-- name: AnalyticsPendingClaim :many
-- Claims up to @max_rows unclaimed (or expired) rows, oldest first, for
-- @lease_seconds, and returns them with their events. Rows whose event is gone
-- (retention) come back with a NULL name; the caller drops them.
WITH claimed AS (
    UPDATE analytics_pending SET claimed_until = now() + make_interval(secs => @lease_seconds::float8)
    WHERE id IN (
        SELECT p.id FROM analytics_pending p
        WHERE p.claimed_until IS NULL OR p.claimed_until < now()
        ORDER BY p.id
        LIMIT @max_rows
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, event_id
)
SELECT c.id, c.event_id, e.name, e.data, e.ts
FROM claimed c LEFT JOIN events e ON e.id = c.event_id
ORDER BY c.id;

-- name: AnalyticsPendingDelete :execrows
-- Removes sent rows.
DELETE FROM analytics_pending WHERE id = ANY(@ids::bigint[]);

-- name: AnalyticsPendingCount :one
SELECT count(*) FROM analytics_pending;
