-- name: LimitLock :exec
-- LimitLock serialises the grants on one key until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('limit_slots:' || sqlc.arg('key')::text, 0));

-- name: LimitUsage :one
-- LimitUsage counts key's slots held now (held) and those held or ended
-- less than per_seconds ago (recent). rate_wait_ms is how long until the
-- first of the ended recent slots stops counting (a whole period when none
-- has ended: a held slot counts for a period after it ends);
-- concurrency_wait_ms is how long until the first held slot expires. It
-- first deletes key's slots that no longer count for any limit (they ended
-- more than per_seconds ago), which the counts below leave out anyway.
WITH pruned AS (
    DELETE FROM limit_slots AS d
    WHERE d.key = sqlc.arg('key') AND coalesce(d.released_at, d.expires_at) < now() - make_interval(secs => sqlc.arg('per_seconds')::float8)
), s AS (
    SELECT coalesce(released_at, expires_at) AS ends, released_at IS NULL AND expires_at > now() AS is_held
    FROM limit_slots AS l
    WHERE l.key = sqlc.arg('key')
), p AS (
    SELECT make_interval(secs => sqlc.arg('per_seconds')::float8) AS per
)
SELECT
    (count(*) FILTER (WHERE s.is_held))::int AS held,
    (count(*) FILTER (WHERE s.ends > now() - p.per))::int AS recent,
    (coalesce(extract(epoch FROM min(s.ends) FILTER (WHERE s.ends <= now() AND s.ends > now() - p.per) + p.per - now()),
        extract(epoch FROM p.per)) * 1000)::bigint AS rate_wait_ms,
    (coalesce(extract(epoch FROM min(s.ends) FILTER (WHERE s.is_held) - now()), 0) * 1000)::bigint AS concurrency_wait_ms
FROM p LEFT JOIN s ON true
GROUP BY p.per;

-- name: LimitGrant :one
INSERT INTO limit_slots (key, job_id, expires_at)
VALUES (sqlc.arg('key'), sqlc.narg('job_id'), now() + make_interval(secs => sqlc.arg('lease_seconds')::float8))
RETURNING id;

-- name: LimitRelease :exec
UPDATE limit_slots SET released_at = now() WHERE id = sqlc.arg('id') AND released_at IS NULL;
