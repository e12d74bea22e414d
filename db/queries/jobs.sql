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

-- name: PeriodicRunExists :one
-- Whether a periodic job's period already ran.
SELECT EXISTS (SELECT 1 FROM periodic_runs WHERE name = @name AND period_start = @period_start);
