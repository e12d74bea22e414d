-- name: FlowStepList :many
-- The recorded steps of a job (package flow reads them once per run).
SELECT step, output, completed_at FROM flow_steps WHERE job_id = @job_id;

-- name: FlowStepDelete :exec
-- Forgets a step a job recorded: a failed batch run's take once its events
-- are back in the batch, so a retry of the run (River UI) takes anew
-- instead of replaying events another run may have sent.
DELETE FROM flow_steps WHERE job_id = @job_id AND step = @step;

-- name: FlowStepsInsert :exec
-- Records finished steps of a job, column by column (flow.Records): package
-- flow writes a run's records in one statement, with the next write the run
-- makes. A second record of the same step fails (primary key), so a step
-- recorded with its effect in one transaction (RunTx) cannot take effect
-- twice. started_at is when the step began, completed_at when it finished
-- (a sleep gives its wake time).
INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
SELECT @job_id, unnest(@steps::text[]), unnest(@outputs::jsonb[]), unnest(@started_ats::timestamptz[]), unnest(@completed_ats::timestamptz[]);

-- name: FlowWaitGet :one
SELECT * FROM flow_waits WHERE job_id = @job_id AND step = @step;

-- name: FlowWaitInsert :one
-- Registers a wait. It matches events received from the after event on (that
-- event excepted), or from now when there is none (or it is gone).
INSERT INTO flow_waits (job_id, step, event_name, match_key, match_value, since, after_event_id, deadline)
VALUES (@job_id, @step, @event_name, @match_key, @match_value,
        coalesce((SELECT received_at FROM events WHERE id = @after_event_id), now()), @after_event_id, @deadline)
RETURNING *;

-- name: FlowWaitFindEvent :one
-- The first event received that matches a wait: for a wait's first look
-- (events received between its after event and its registration, those of
-- publishers in flight included: see FlowWaitBarrier), a look after its
-- condition turned an event down (skipping the events it turned down), and
-- a last look at the deadline, once more. match_key is a path of object
-- keys joined with '.'.
SELECT * FROM events
WHERE name = @event_name AND data #>> string_to_array(@match_key::text, '.') = @match_value::text
  AND received_at >= @since AND id <> @after_event_id AND id <> ALL(@rejected_event_ids::text[])
ORDER BY received_at, id
LIMIT 1;

-- name: FlowWaitReject :one
-- Turns down event_id for a wait (its condition said no): the wait's next
-- looks skip it, and the wait is open again if it was matched by it (not if
-- a publisher has matched it by another event meanwhile).
UPDATE flow_waits
SET rejected_event_ids = array_append(rejected_event_ids, @event_id::text),
    matched_event_id = CASE WHEN matched_event_id = @event_id::text THEN NULL ELSE matched_event_id END
WHERE job_id = @job_id AND step = @step
RETURNING *;

-- name: FlowWaitDelete :exec
DELETE FROM flow_waits WHERE job_id = @job_id AND step = @step;

-- name: FlowWaitMatch :many
-- Publish's one statement: matches the events it just stored against the
-- open waits. Each wait takes the first of the events with its event_name
-- whose data has match_key at match_value: one index probe per field of
-- each event, at any depth of nested objects (flow_leaves: paths of object
-- keys joined with '.'; arrays are not gone into). The waits are locked in
-- (job_id, step) order, so concurrent publishers cannot deadlock on them.
-- Returns the jobs to wake.
WITH hit AS (
    SELECT DISTINCT ON (w.job_id, w.step) w.job_id, w.step, e.id AS event_id
    FROM unnest(@event_ids::text[]) WITH ORDINALITY AS n (id, ord)
    JOIN events e ON e.id = n.id
    CROSS JOIN LATERAL flow_leaves(e.data) AS f (key, value)
    CROSS JOIN LATERAL (
        SELECT job_id, step FROM flow_waits
        WHERE event_name = e.name AND match_key = f.key AND match_value = f.value AND matched_event_id IS NULL
        OFFSET 0 -- keeps this a probe of flow_waits_open_idx per field, not a join over all open waits
    ) w
    ORDER BY w.job_id, w.step, n.ord
), locked AS (
    SELECT w.job_id, w.step, hit.event_id
    FROM flow_waits w
    JOIN hit ON hit.job_id = w.job_id AND hit.step = w.step
    WHERE w.matched_event_id IS NULL
    ORDER BY w.job_id, w.step
    FOR NO KEY UPDATE OF w
)
UPDATE flow_waits w SET matched_event_id = locked.event_id
FROM locked
WHERE w.job_id = locked.job_id AND w.step = locked.step
RETURNING w.job_id;

-- name: FlowWakeJobs :exec
-- Makes parked jobs available now. A job still running is left alone: the
-- snooze that parks it finds its matched wait (flow_wake_parked_job).
UPDATE river_job SET state = 'available', scheduled_at = now()
WHERE id = ANY(@job_ids::bigint[])
  AND (state = 'scheduled' OR (state = 'available' AND scheduled_at > now()));

-- name: FlowWaitForPublishers :one
-- Waits until every transaction that holds a write lock on events (the
-- publishers in flight) has ended, for at most timeout, and reports whether
-- they all did: a new wait's first look then sees their events (see
-- wait_for_writers).
SELECT wait_for_writers('events'::regclass, make_interval(secs => @timeout_seconds::float8))::boolean AS settled;

-- name: FlowWaitSetUnsettled :exec
-- Records whether a wait's first look is still to be made because the
-- publishers in flight had not all ended (FlowWaitForPublishers timed out).
UPDATE flow_waits SET unsettled = @unsettled WHERE job_id = @job_id AND step = @step;
