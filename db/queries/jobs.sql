-- name: JobDiscardedStats :one
-- How many jobs of a kind were discarded since a time, and the last error of
-- the most recent one.
SELECT count(*) AS discarded,
       coalesce((SELECT j.errors[array_length(j.errors, 1)] ->> 'error'
                 FROM river_job j
                 WHERE j.kind = @kind::text AND j.state = 'discarded' AND j.finalized_at >= @since::timestamptz
                 ORDER BY j.finalized_at DESC LIMIT 1), '')::text AS last_error
FROM river_job
WHERE kind = @kind::text AND state = 'discarded' AND finalized_at >= @since::timestamptz;

-- name: PeriodicRunInsert :execrows
-- Records that a periodic job's period ran; 0 rows means it already had.
INSERT INTO periodic_runs (name, period_start, job_id)
VALUES (@name, @period_start, @job_id)
ON CONFLICT (name, period_start) DO NOTHING;

-- name: PeriodicRunExists :one
-- Whether a periodic job's period already ran.
SELECT EXISTS (SELECT 1 FROM periodic_runs WHERE name = @name AND period_start = @period_start);
