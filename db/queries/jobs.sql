-- name: JobFailedStats :one
-- How many jobs of a kind failed for good (discarded or cancelled) since a
-- time.
SELECT coalesce(sum(CASE WHEN state = 'discarded' THEN 1 ELSE 0 END), 0)::bigint AS discarded,
       coalesce(sum(CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END), 0)::bigint AS cancelled
FROM river_job
WHERE kind = sqlc.arg(kind)::text AND state IN ('discarded', 'cancelled') AND finalized_at >= sqlc.arg(since)::timestamptz;

-- name: JobFinalizeIfRunning :execrows
-- Settles a running job as discarded or cancelled with its last error, as
-- River's completer would, so that an alert can commit with the job's final
-- state. River's own update afterwards finds the job no longer running and
-- leaves it.
UPDATE river_job
SET state = sqlc.arg(state)::river_job_state,
    finalized_at = now(),
    errors = array_append(errors, @attempt_error::jsonb)
WHERE id = @id AND state = 'running';

-- name: PeriodicRunInsert :execrows
-- Records that a periodic job's period ran; 0 rows means it already had.
INSERT INTO periodic_runs (name, period_start, job_id)
VALUES (@name, @period_start, @job_id)
ON CONFLICT (name, period_start) DO NOTHING;

-- name: JobCancelPendingForOrder :execrows
-- Cancels the jobs of the given kinds whose args name the order and that
-- have not started (cancel-on: a cancelled order's pending emails),
-- recording why as their last error; the cancelling event's own jobs stay.
-- Uses river_job_order_id_idx.
UPDATE river_job
SET state = 'cancelled',
    finalized_at = now(),
    errors = array_append(errors, jsonb_build_object(
        'at', now(), 'attempt', attempt, 'error', sqlc.arg(reason)::text, 'trace', ''))
WHERE kind = ANY(sqlc.arg(kinds)::text[])
  AND args ? 'order_id' AND args ->> 'order_id' = sqlc.arg(order_id)::text
  AND args ->> 'event_id' <> sqlc.arg(event_id)::text
  AND state IN ('available', 'scheduled', 'retryable', 'pending');

-- name: PeriodicRunExists :one
-- Whether a periodic job's period already ran.
SELECT EXISTS (SELECT 1 FROM periodic_runs WHERE name = @name AND period_start = @period_start);
