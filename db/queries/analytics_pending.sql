-- name: AnalyticsPendingInsertMany :exec
-- Queues tracked events for the analytics sink (one row per event id).
INSERT INTO analytics_pending (event_id) SELECT unnest(@event_ids::text[]);

-- name: AnalyticsPendingClaim :many
-- Claims up to @max_rows unclaimed (or expired) rows, oldest first, for
-- @lease_seconds. The ids are picked first (an index scan of the primary
-- key, skipping rows another flush holds), so the update touches only them.
UPDATE analytics_pending SET claimed_until = now() + make_interval(secs => @lease_seconds::float8)
WHERE id = ANY(ARRAY(
    SELECT p.id FROM analytics_pending p
    WHERE p.claimed_until IS NULL OR p.claimed_until < now()
    ORDER BY p.id
    LIMIT @max_rows
    FOR UPDATE SKIP LOCKED
))
RETURNING id, event_id;

-- name: AnalyticsEventsGet :many
-- The stored events of claimed rows, by primary key (events past retention
-- are missing: the caller drops their rows).
SELECT id, name, data, ts FROM events WHERE id = ANY(@ids::text[]);

-- name: AnalyticsPendingDelete :execrows
-- Removes sent rows.
DELETE FROM analytics_pending WHERE id = ANY(@ids::bigint[]);
