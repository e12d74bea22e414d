-- name: ControlPause :one
-- Pauses a function: its fn_paused row (kept as it is when it was paused
-- already), and its runs ready to start (state available, River kind
-- @kind) moved to 'pending', where River does not fetch them. Returns
-- whether this call paused it and how many runs it held.
WITH ins AS (
    INSERT INTO fn_paused (function, paused_by) VALUES (@function::text, @paused_by::text)
    ON CONFLICT (function) DO NOTHING
    RETURNING function
), held AS (
    UPDATE river_job SET state = 'pending'
    WHERE kind = @kind::text AND state = 'available'
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM ins)::bool AS paused, (SELECT count(*) FROM held)::bigint AS held;

-- name: ControlPauseCount :one
-- What ControlPause would do now: whether the function is paused already,
-- and how many of its runs are ready to start.
SELECT EXISTS (SELECT 1 FROM fn_paused WHERE function = @function::text)::bool AS paused,
       (SELECT count(*) FROM river_job WHERE kind = @kind::text AND state = 'available')::bigint AS available;

-- name: ControlUnpause :execrows
-- Resume, first statement: deletes the function's fn_paused row. It waits
-- for a run holding itself (FnRunHold reads the row FOR SHARE), so the
-- next statement, which reads anew, sees that run held.
DELETE FROM fn_paused WHERE function = @function::text;

-- name: ControlRelease :execrows
-- Resume, second statement: the function's held runs (River kind @kind,
-- 'pending') are available again, or scheduled when their time is still
-- to come (a run held before its retry or its wake-up), in their order.
UPDATE river_job
SET state = CASE WHEN scheduled_at > clock_timestamp() THEN 'scheduled'::river_job_state ELSE 'available'::river_job_state END
WHERE kind = @kind::text AND state = 'pending';

-- name: ControlHeldCount :one
-- How many runs of River kind @kind are held ('pending').
SELECT count(*) FROM river_job WHERE kind = @kind::text AND state = 'pending';

-- name: ControlPausedList :many
-- The paused functions, with how many runs each holds, oldest pause
-- first. @kinds[i] is the River kind of @functions[i].
SELECT p.function, p.paused_at, p.paused_by,
       (SELECT count(*) FROM river_job AS j WHERE j.kind = k.kind AND j.state = 'pending')::bigint AS held
FROM fn_paused AS p
LEFT JOIN (SELECT unnest(@functions::text[]) AS function, unnest(@kinds::text[]) AS kind) AS k ON k.function = p.function
ORDER BY p.paused_at, p.function;

-- name: ControlRunCount :one
-- How many runs of River kind @kind, enqueued in [@since, @until), whose
-- trigger event (unless @match_path is empty) holds @match_value at
-- @match_path in its data, are not finalized: queued (available,
-- scheduled, retryable, pending) and running.
SELECT count(*) FILTER (WHERE j.state <> 'running')::bigint AS queued,
       count(*) FILTER (WHERE j.state = 'running')::bigint AS running
FROM river_job AS j
WHERE j.kind = @kind::text
  AND j.state IN ('available', 'scheduled', 'retryable', 'pending', 'running')
  AND j.created_at >= @since::timestamptz AND j.created_at < @until::timestamptz
  AND (cardinality(@match_path::text[]) = 0 OR EXISTS (
      SELECT 1 FROM events AS e
      WHERE e.id = j.args ->> 'event_id' AND e.data #>> @match_path::text[] = @match_value::text));

-- name: ControlCancelQueued :execrows
-- Cancels up to @max_rows of the queued runs ControlRunCount counts (a
-- batch), recording @reason as their last error.
UPDATE river_job
SET state = 'cancelled',
    finalized_at = now(),
    errors = array_append(errors, jsonb_build_object(
        'at', now(), 'attempt', attempt, 'error', @reason::text, 'trace', ''))
WHERE id IN (
    SELECT j.id FROM river_job AS j
    WHERE j.kind = @kind::text
      AND j.state IN ('available', 'scheduled', 'retryable', 'pending')
      AND j.created_at >= @since::timestamptz AND j.created_at < @until::timestamptz
      AND (cardinality(@match_path::text[]) = 0 OR EXISTS (
          SELECT 1 FROM events AS e
          WHERE e.id = j.args ->> 'event_id' AND e.data #>> @match_path::text[] = @match_value::text))
    ORDER BY j.id
    LIMIT @max_rows::int
    FOR UPDATE
)
AND state IN ('available', 'scheduled', 'retryable', 'pending');

-- name: ControlRunningIDs :many
-- The ids of the running runs ControlRunCount counts, which River's
-- JobCancel asks to stop.
SELECT j.id FROM river_job AS j
WHERE j.kind = @kind::text AND j.state = 'running'
  AND j.created_at >= @since::timestamptz AND j.created_at < @until::timestamptz
  AND (cardinality(@match_path::text[]) = 0 OR EXISTS (
      SELECT 1 FROM events AS e
      WHERE e.id = j.args ->> 'event_id' AND e.data #>> @match_path::text[] = @match_value::text))
ORDER BY j.id;
