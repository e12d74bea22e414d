-- name: RunList :many
-- The runs of the console (package runs), newest first: River jobs of the
-- given kinds (the declared functions), narrowed by the optional filters,
-- before the id before_id (the keyset cursor). event_ids selects the runs
-- those events triggered, and the runs job_ids names (debounced and batched
-- runs that took one of them: RunTookEvents). status is the run's status as
-- the console says it (runs.Status): River's state, and for a job parked by
-- a flow step, whether it waits for an event (an open flow_waits row) or
-- sleeps (a step whose completed_at, its wake time, is still to come).
SELECT * FROM (
    SELECT j.id, j.kind, j.state::text AS state, j.attempt::int AS attempt, j.max_attempts::int AS max_attempts,
           j.args, j.errors, j.created_at, j.scheduled_at, j.attempted_at, j.finalized_at,
           CASE
               WHEN j.state = 'completed' THEN 'completed'
               WHEN j.state = 'discarded' THEN 'failed'
               WHEN j.state = 'cancelled' THEN 'cancelled'
               WHEN j.state = 'running' THEN 'running'
               WHEN EXISTS (SELECT 1 FROM flow_waits w WHERE w.job_id = j.id AND w.matched_event_id IS NULL) THEN 'waiting'
               WHEN j.state = 'scheduled' AND EXISTS (SELECT 1 FROM flow_steps s WHERE s.job_id = j.id AND s.completed_at > now()) THEN 'sleeping'
               WHEN j.state = 'pending' THEN 'paused'
               WHEN j.attempt = 0 THEN 'queued'
               ELSE 'running'
           END::text AS status
    FROM river_job j
    WHERE j.kind = ANY(@kinds::text[])
      AND (sqlc.narg('event_ids')::text[] IS NULL OR j.args ->> 'event_id' = ANY(sqlc.narg('event_ids')::text[])
           OR j.id = ANY(@job_ids::bigint[]))
      AND (sqlc.narg('since')::timestamptz IS NULL OR j.created_at >= sqlc.narg('since')::timestamptz)
      AND (sqlc.narg('before_id')::bigint IS NULL OR j.id < sqlc.narg('before_id')::bigint)
      AND (sqlc.narg('id')::bigint IS NULL OR j.id = sqlc.narg('id')::bigint)
    ORDER BY j.id DESC
) r
WHERE sqlc.narg('status')::text IS NULL OR r.status = sqlc.narg('status')::text
ORDER BY r.id DESC
LIMIT @max_rows::int;

-- name: RunSteps :many
-- The recorded steps of the given runs, in the order they began.
SELECT job_id, step, output, started_at, completed_at FROM flow_steps
WHERE job_id = ANY(@job_ids::bigint[])
ORDER BY job_id, coalesce(started_at, completed_at), completed_at, step;

-- name: RunOpenWaits :many
-- The open waits of the given runs: a step that is waiting for an event.
SELECT job_id, step, event_name, created_at, deadline FROM flow_waits
WHERE job_id = ANY(@job_ids::bigint[]) AND matched_event_id IS NULL;

-- name: RunLogs :many
-- The lines the given runs logged, attempt by attempt.
SELECT job_id, attempt::int AS attempt, logged_at, lines, truncated FROM run_logs
WHERE job_id = ANY(@job_ids::bigint[])
ORDER BY job_id, logged_at;

-- name: RunLogsInsert :exec
-- Stores the lines one attempt of a run logged (at most one row per
-- attempt that logged anything; see runs.LogMiddleware).
INSERT INTO run_logs (job_id, attempt, lines, truncated) VALUES (@job_id, @attempt, @lines, @truncated);

-- name: RunDebounced :many
-- The events debounced runs not started yet will take (fn_debounce), by
-- function and key.
SELECT function, key, event_id FROM fn_debounce
WHERE function = ANY(@functions::text[]) AND key = ANY(@keys::text[]);

-- name: RunEntityEvents :many
-- The ids of the events about one entity (a top-level field of their data
-- names it: orderId, userId, productId or shopId, or search/index's
-- type and id), newest first. The entity's own row bounds the scan: no
-- event about it is received before it was created (the event of its
-- creation is in its transaction), so the scan walks
-- events_received_at_idx from then on and adds no index to events.
SELECT id FROM events
WHERE received_at >= @since::timestamptz
  AND (data ->> @field::text = @entity_id::text
       OR (name = 'search/index' AND data ->> 'type' = @index_type::text AND data ->> 'id' = @entity_id::text))
ORDER BY received_at DESC
LIMIT @max_rows::int;

-- name: RunEntityCreatedAt :one
-- When an entity's row was created (orders, users, products or shops), to
-- bound RunEntityEvents; no row when there is no such entity.
SELECT created_at FROM orders WHERE @kind::text = 'order' AND id = @entity_id::uuid
UNION ALL SELECT created_at FROM users WHERE @kind::text = 'user' AND id = @entity_id::uuid
UNION ALL SELECT created_at FROM products WHERE @kind::text = 'product' AND id = @entity_id::uuid
UNION ALL SELECT created_at FROM shops WHERE @kind::text = 'shop' AND id = @entity_id::uuid;

-- name: RunEventList :many
-- The console's events page, newest first: optionally only events of one
-- name, received in [since, until), or among ids (an entity's events).
SELECT id, name, data, ts, received_at, source FROM events
WHERE (sqlc.narg('name')::text IS NULL OR name = sqlc.narg('name')::text)
  AND (sqlc.narg('since')::timestamptz IS NULL OR received_at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR received_at < sqlc.narg('until')::timestamptz)
  AND (sqlc.narg('ids')::text[] IS NULL OR id = ANY(sqlc.narg('ids')::text[]))
ORDER BY received_at DESC, id DESC
LIMIT @max_rows::int;

-- name: RunCountsByEvent :many
-- How many runs each of the given events started, by status (as RunList
-- says it, without the parked states: those are counted as queued or
-- running). River's pending state is a run held while its function is
-- paused.
SELECT (j.args ->> 'event_id')::text AS event_id, j.kind,
       CASE j.state
           WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed' WHEN 'cancelled' THEN 'cancelled'
           WHEN 'running' THEN 'running' WHEN 'pending' THEN 'paused'
           ELSE CASE WHEN j.attempt = 0 THEN 'queued' ELSE 'running' END
       END::text AS status,
       count(*)::int AS runs
FROM river_job j
WHERE j.args ->> 'event_id' = ANY(@event_ids::text[])
GROUP BY 1, 2, 3;

-- name: RunFunctionStats :many
-- Each kind's runs created since since: how many, how many failed
-- (discarded), and the 50th and 99th percentile of the finished ones'
-- durations (from the last attempt's start to the end), in milliseconds.
SELECT kind, count(*)::int AS runs,
       count(*) FILTER (WHERE state = 'discarded')::int AS failed,
       count(*) FILTER (WHERE finalized_at IS NOT NULL)::int AS finished,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finalized_at - attempted_at) * 1000)
                FILTER (WHERE finalized_at IS NOT NULL AND attempted_at IS NOT NULL), 0)::float8 AS p50_ms,
       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finalized_at - attempted_at) * 1000)
                FILTER (WHERE finalized_at IS NOT NULL AND attempted_at IS NOT NULL), 0)::float8 AS p99_ms
FROM river_job
WHERE kind = ANY(@kinds::text[]) AND created_at >= @since::timestamptz
GROUP BY kind;

-- name: RunTookEvents :many
-- The debounced and batched runs (of the given kinds, enqueued since since)
-- that took one of the given events: their $debounce or $batch step's
-- output (an event id, or an array of them) names it. Each kind's runs are
-- found by river_job's kind index and their step by flow_steps' key.
SELECT DISTINCT e.id::text AS event_id, j.id AS job_id, j.kind,
       CASE j.state
           WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed' WHEN 'cancelled' THEN 'cancelled'
           WHEN 'running' THEN 'running' WHEN 'pending' THEN 'paused'
           ELSE CASE WHEN j.attempt = 0 THEN 'queued' ELSE 'running' END
       END::text AS status
FROM river_job j
JOIN flow_steps s ON s.job_id = j.id AND s.step IN ('$debounce', '$batch')
CROSS JOIN unnest(@event_ids::text[]) AS e (id)
WHERE j.kind = ANY(@kinds::text[]) AND j.created_at >= @since::timestamptz AND s.output ? e.id;

-- name: RunEventsReceived :one
-- When the first of the given events was received (to bound RunTookEvents).
SELECT coalesce(min(received_at), now())::timestamptz AS received_at FROM events WHERE id = ANY(@ids::text[]);
