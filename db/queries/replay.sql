-- name: ReplayEventCount :one
-- How many events named @name were received in [@since, @until): the
-- total a replay reports progress against. Uses events_name_received_at_idx.
SELECT count(*) FROM events
WHERE name = @name AND received_at >= @since AND received_at < @until;

-- name: ReplayEventPage :many
-- The next @max_rows events named @name received in [@since, @until), after
-- (@after_received_at, @after_id) in (received_at, id) order: one replay
-- batch. Uses events_name_received_at_idx.
SELECT id, name, data, ts, received_at FROM events
WHERE name = @name AND received_at >= @since AND received_at < @until
  AND (received_at, id) > (@after_received_at::timestamptz, @after_id::text)
ORDER BY received_at, id
LIMIT @max_rows::int;

-- name: DeadLetterGroups :many
-- Jobs that failed for good (discarded or cancelled) and were finalized
-- since @since, grouped by kind and normalised last error: trimmed, with
-- UUIDs, ULIDs and numbers of five or more digits replaced by <id>, so the
-- same failure of different rows groups together. An empty @kind means
-- every kind. Largest groups first.
WITH failed AS (
    SELECT kind, state, finalized_at,
           btrim(regexp_replace(regexp_replace(regexp_replace(
               coalesce(errors[array_length(errors, 1)] ->> 'error', ''),
               '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<id>', 'g'),
               '\m[0-9A-HJKMNP-TV-Z]{26}\M', '<id>', 'g'),
               '\m[0-9]{5,}\M', '<id>', 'g')) AS error
    FROM river_job
    WHERE state IN ('discarded', 'cancelled')
      AND finalized_at >= @since::timestamptz
      AND (@kind::text = '' OR kind = @kind::text)
)
SELECT kind, error,
       count(*)::bigint AS jobs,
       count(*) FILTER (WHERE state = 'discarded')::bigint AS discarded,
       count(*) FILTER (WHERE state = 'cancelled')::bigint AS cancelled,
       min(finalized_at)::timestamptz AS first_seen,
       max(finalized_at)::timestamptz AS last_seen
FROM failed
GROUP BY kind, error
ORDER BY jobs DESC, kind, error;

-- name: DeadLetterCount :one
-- How many discarded or cancelled jobs of @kind, finalized in [@since,
-- @until), have a last error containing @error_like (any case; empty
-- matches all) and, unless @match_path is empty, a trigger event whose data
-- holds @match_value at @match_path: the total a bulk retry reports
-- progress against.
SELECT count(*) FROM river_job
WHERE kind = @kind AND state IN ('discarded', 'cancelled')
  AND finalized_at >= @since::timestamptz AND finalized_at < @until::timestamptz
  AND coalesce(errors[array_length(errors, 1)] ->> 'error', '') ILIKE '%' || @error_like::text || '%'
  AND (cardinality(@match_path::text[]) = 0 OR EXISTS (
      SELECT 1 FROM events AS e
      WHERE e.id = river_job.args ->> 'event_id' AND e.data #>> @match_path::text[] = @match_value::text));

-- name: DeadLetterPage :many
-- The next @max_rows ids of the jobs DeadLetterCount counts, after
-- @after_id: one bulk retry batch.
SELECT id FROM river_job
WHERE kind = @kind AND state IN ('discarded', 'cancelled')
  AND finalized_at >= @since::timestamptz AND finalized_at < @until::timestamptz
  AND coalesce(errors[array_length(errors, 1)] ->> 'error', '') ILIKE '%' || @error_like::text || '%'
  AND (cardinality(@match_path::text[]) = 0 OR EXISTS (
      SELECT 1 FROM events AS e
      WHERE e.id = river_job.args ->> 'event_id' AND e.data #>> @match_path::text[] = @match_value::text))
  AND id > @after_id::bigint
ORDER BY id
LIMIT @max_rows::int;
