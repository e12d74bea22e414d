-- name: JobBacklogByQueue :many
-- Jobs waiting to be worked per queue and how long the oldest has waited, for
-- the backlog metrics. Queues River knows with nothing waiting report 0.
SELECT queue::text AS queue, count(*)::bigint AS available,
       extract(epoch FROM now() - min(scheduled_at))::float8 AS oldest_age_seconds
FROM river_job
WHERE state = 'available'
GROUP BY queue
UNION ALL
SELECT name::text, 0::bigint, 0::float8
FROM river_queue
WHERE name NOT IN (SELECT queue FROM river_job WHERE state = 'available')
ORDER BY queue;

-- name: RiverLeaderElected :one
-- Whether a River leader holds its lease now: it inserts the periodic runs
-- and runs River's maintenance (the rescuer among them).
SELECT EXISTS (SELECT 1 FROM river_leader WHERE expires_at > now())::bool AS elected;
