-- name: FnIdempotencyClaim :many
-- Claims idempotency keys for their TTL: returns the (function, key) pairs
-- that were free (new, or their TTL had passed), whose events start a run.
INSERT INTO fn_idempotency AS i (function, key, expires_at)
SELECT u.f, u.k, now() + make_interval(secs => u.t)
FROM (SELECT unnest(@functions::text[]) AS f, unnest(@keys::text[]) AS k, unnest(@ttl_seconds::float8[]) AS t) AS u
ON CONFLICT (function, key) DO UPDATE SET expires_at = excluded.expires_at
    WHERE i.expires_at <= now()
RETURNING i.function, i.key;

-- name: FnIdempotencyDeleteExpired :execrows
DELETE FROM fn_idempotency WHERE expires_at < now();

-- name: FnDebounce :many
-- Records the latest event of each debounced (function, key) and when its
-- run is due: period after this event, never past the deadline set by the
-- first event (timeout after it; none when timeout_seconds is 0). Returns
-- the rows inserted, which need a run scheduled at run_at.
INSERT INTO fn_debounce AS d (function, key, event_id, run_at, deadline)
SELECT u.f, u.k, u.e,
       CASE WHEN u.t > 0 THEN least(now() + make_interval(secs => u.p), now() + make_interval(secs => u.t)) ELSE now() + make_interval(secs => u.p) END,
       CASE WHEN u.t > 0 THEN now() + make_interval(secs => u.t) ELSE 'infinity'::timestamptz END
FROM (SELECT unnest(@functions::text[]) AS f, unnest(@keys::text[]) AS k, unnest(@event_ids::text[]) AS e,
             unnest(@period_seconds::float8[]) AS p, unnest(@timeout_seconds::float8[]) AS t) AS u
ON CONFLICT (function, key) DO UPDATE
    SET event_id = excluded.event_id, run_at = least(excluded.run_at, d.deadline)
RETURNING d.function, d.key, d.run_at, (xmax = 0)::bool AS inserted;

-- name: FnDebounceTake :one
-- A debounced run takes its event once the run is due: the row is deleted
-- and its event returned. Before then it returns how long until the run is
-- due (the run waits). No event and wait_ms -1: another run took the row.
WITH taken AS (
    DELETE FROM fn_debounce AS d WHERE d.function = @fn::text AND d.key = @key::text AND d.run_at <= now() RETURNING d.event_id
)
SELECT coalesce((SELECT t.event_id FROM taken AS t), '')::text AS event_id,
       coalesce((SELECT ceil(extract(epoch FROM r.run_at - now()) * 1000) FROM fn_debounce AS r
                 WHERE r.function = @fn::text AND r.key = @key::text), -1)::bigint AS wait_ms;

-- name: FnBatchAdd :many
-- Adds events to their batches, and a batch's mark (event_id '': a run is
-- scheduled) where it has none; returns the batches that got one (each
-- needs a run). An event already waiting in its batch is not added twice.
INSERT INTO fn_batch_events (function, key, event_id)
SELECT u.f, u.k, u.e
FROM (SELECT unnest(@functions::text[]) AS f, unnest(@keys::text[]) AS k, unnest(@event_ids::text[]) AS e) AS u
UNION
SELECT m.f, m.k, '' FROM (SELECT unnest(@functions::text[]) AS f, unnest(@keys::text[]) AS k) AS m
ON CONFLICT (function, key, event_id) DO NOTHING
RETURNING function, key, (event_id = '')::bool AS marked;

-- name: FnBatchRunsScheduled :exec
-- The runs just inserted for batches (ids, with their batches' functions
-- and keys), due when their batch is: makes them available with their
-- scheduled time kept, where River's producers fetch an available job once
-- its scheduled_at has passed, at their next fetch (every
-- FETCH_POLL_INTERVAL at the latest), and River's scheduler would make a
-- scheduled one available only at its next round, every 5 s. When own, the
-- caller marked each batch for its run: the mark names the run (run_id),
-- so that the run, if it ends without its worker, frees it
-- (fn_batch_run_ended).
WITH r AS (
    SELECT unnest(@ids::bigint[]) AS id, unnest(@functions::text[]) AS f, unnest(@keys::text[]) AS k
), due AS (
    UPDATE river_job SET state = 'available'
    WHERE id IN (SELECT r.id FROM r) AND state = 'scheduled'
)
UPDATE fn_batch_events AS m SET run_id = r.id
FROM r
WHERE @own::boolean AND m.function = r.f AND m.key = r.k AND m.event_id = '';

-- name: FnBatchClose :exec
-- A batch run's first statement, committed on its own: removes the batch's
-- mark, so the next event schedules a new run. The run then waits for the
-- publishers in flight (FnBatchWaitForPublishers) before it takes the
-- events.
DELETE FROM fn_batch_events WHERE function = @fn::text AND key = @key::text AND event_id = '';

-- name: FnBatchWaitForPublishers :one
-- Waits until every transaction that holds a write lock on fn_batch_events
-- has ended, for at most timeout, and reports whether they all did. A
-- publisher that found a batch's mark before FnBatchClose committed, and
-- so scheduled no run, is one of them: the take that follows sees its
-- events (see wait_for_writers).
SELECT wait_for_writers('fn_batch_events'::regclass, make_interval(secs => @timeout_seconds::float8))::boolean AS settled;

-- name: FnBatchTake :many
-- A batch run takes up to max_size events of its batch, oldest first by
-- id (a ULID, unless the sender chose it), once it has closed the batch
-- (FnBatchClose) and waited for its publishers in flight (fn_batch_take: a
-- plan that does not depend on the queue's statistics).
SELECT event_id::text AS event_id FROM fn_batch_take(@fn::text, @key::text, @max_size::integer) AS event_id ORDER BY 1;

-- name: FnBatchReopen :one
-- Marks a batch as having a run scheduled again (a full batch left more
-- events behind; publishers in flight may still add some; a take failed
-- after its run had closed the batch): when if_waiting, only if events wait
-- in it. False when it was marked already (another run is scheduled), or
-- nothing waits.
WITH ins AS (
    INSERT INTO fn_batch_events (function, key, event_id)
    SELECT @fn::text, @key::text, ''
    WHERE NOT @if_waiting::boolean
       OR EXISTS (SELECT 1 FROM fn_batch_events AS b WHERE b.function = @fn::text AND b.key = @key::text AND b.event_id > '')
    ON CONFLICT DO NOTHING RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM ins)::bool AS reopened;

-- name: FnBatchRescue :one
-- After a batch run (job_id) failed for good holding no events and having
-- recorded no take: it may have failed before it closed its batch, whose
-- mark then names it, or after a close whose reopen failed, which left
-- events with no mark. Marks the batch in the second case, and reports
-- whether the batch needs a run: its mark is new, or this run's.
WITH ins AS (
    INSERT INTO fn_batch_events (function, key, event_id)
    SELECT @fn::text, @key::text, ''
    WHERE EXISTS (SELECT 1 FROM fn_batch_events AS b WHERE b.function = @fn::text AND b.key = @key::text AND b.event_id > '')
    ON CONFLICT DO NOTHING RETURNING 1
)
SELECT (EXISTS (SELECT 1 FROM ins)
    OR EXISTS (SELECT 1 FROM fn_batch_events AS b WHERE b.run_id = @job_id::bigint))::bool AS needs_run;

-- name: FnCancelRuns :execrows
-- cancelOn: cancels the runs of the given kinds, not started (or parked by
-- a step), whose trigger event has the cancelling event's value at the
-- match path (args.ck, river_job_cancel_key_idx) and that were enqueued
-- at or after since; the cancelling event's own runs stay. The reason is
-- recorded as their last error.
UPDATE river_job
SET state = 'cancelled',
    finalized_at = now(),
    errors = array_append(errors, jsonb_build_object(
        'at', now(), 'attempt', attempt, 'error', @reason::text, 'trace', ''))
WHERE args ? 'ck' AND args ->> 'ck' = @match::text
  AND kind = ANY(@kinds::text[])
  AND coalesce(args ->> 'event_id', '') <> @event_id::text
  AND created_at >= @since::timestamptz
  AND state IN ('available', 'scheduled', 'retryable', 'pending');

-- name: FnCancelKey :many
-- singleton (cancel mode): cancels the key's runs not started, and returns
-- the ids of those running, which River then asks to stop.
WITH waiting AS (
    UPDATE river_job
    SET state = 'cancelled',
        finalized_at = now(),
        errors = array_append(errors, jsonb_build_object(
            'at', now(), 'attempt', attempt, 'error', @reason::text, 'trace', ''))
    WHERE river_job.kind = @job_kind::text AND river_job.args ? 'key' AND river_job.args ->> 'key' = @key::text
      AND river_job.state IN ('available', 'scheduled', 'retryable', 'pending')
)
SELECT j.id FROM river_job AS j
WHERE j.kind = @job_kind::text AND j.args ? 'key' AND j.args ->> 'key' = @key::text AND j.state = 'running';

-- name: FnEventsGet :many
-- The events of a run, by id.
SELECT * FROM events WHERE id = ANY(@ids::text[]);

-- name: FnRunEvents :many
-- The one read a run with a trigger event starts with, for many runs at
-- once (the executor's group read): per run, its event, the steps earlier
-- runs of its job recorded (flow_steps, as FlowStepList reads them) and
-- whether its function is paused (fn_paused). ord is the run's place in
-- the arguments, from 1; a run whose event is not stored has no row.
-- job_ids are read through a sub-select, so that the statement is planned
-- once (see ProductList).
SELECT r.ord::bigint AS ord, e.id, e.name, e.data, e.ts, e.source,
       coalesce((SELECT jsonb_agg(jsonb_build_object('step', s.step, 'output', s.output, 'completedAt', s.completed_at))
                 FROM flow_steps AS s WHERE s.job_id = r.job_id), '[]')::jsonb AS steps,
       EXISTS (SELECT 1 FROM fn_paused AS p WHERE p.function = (@fns::text[])[r.ord])::bool AS paused
FROM unnest((SELECT @job_ids::bigint[])) WITH ORDINALITY AS r (job_id, ord)
JOIN events AS e ON e.id = (@event_ids::text[])[r.ord];

-- name: FnRunStart :one
-- What a run without a trigger event (a debounce's, a batch's, a cron
-- trigger's) starts with: the steps earlier runs of its job recorded, which
-- its first step would read anyway, and whether its function is paused.
SELECT coalesce((SELECT jsonb_agg(jsonb_build_object('step', s.step, 'output', s.output, 'completedAt', s.completed_at))
                 FROM flow_steps AS s WHERE s.job_id = @job_id::bigint), '[]')::jsonb AS steps,
       EXISTS (SELECT 1 FROM fn_paused AS p WHERE p.function = @fn::text)::bool AS paused;

-- name: FnRunHold :execrows
-- A run of a paused function holds itself: its job, running, goes to
-- River's 'pending' state (River never fetches it; its completer finds the
-- job no longer running and leaves it) with the attempt it began given
-- back. The function's fn_paused row is read FOR SHARE, so a resume that
-- deletes it either waits for this hold (and then releases the run) or
-- has committed before (and the run is not held: 0 rows, it runs).
WITH paused AS (
    SELECT p.function FROM fn_paused AS p WHERE p.function = @fn::text FOR SHARE
)
UPDATE river_job
SET state = 'pending', attempt = greatest(river_job.attempt - 1, 0)
WHERE river_job.id = @job_id::bigint AND river_job.state = 'running'
  AND EXISTS (SELECT 1 FROM paused);

-- name: FnPublish :one
-- A whole publish in one statement, when its runs need nothing but the
-- events themselves (fn.Registry.Queue): inserts the events, skipping ids
-- already stored; inserts the runs and batch rows of the events it
-- inserted (each run and batch row names its event); marks each batch
-- that had no run scheduled (its run is inserted next); and sends River's
-- insert notification for notify_queues. A run is inserted as River's own
-- insert would insert a job without unique options, available now.
-- Returns the ids inserted, those an open wait waits for (as
-- EventInsertMany), and the batches marked, in (function, key) order.
WITH ev AS (
    INSERT INTO events (id, name, data, ts, source)
    SELECT unnest(@ids::text[]), unnest(@names::text[]), unnest(@datas::jsonb[]),
           unnest(@tss::timestamptz[]), unnest(@sources::text[])
    ON CONFLICT (id) DO NOTHING
    RETURNING id, name
), runs AS (
    INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
    SELECT r.args, r.kind, r.max_attempts, '{}', r.priority, r.queue, now(), 'available', '{}'
    FROM (SELECT unnest(@run_event_ids::text[]) AS event_id, unnest(@run_args::jsonb[]) AS args,
                 unnest(@run_kinds::text[]) AS kind, unnest(@run_max_attempts::smallint[]) AS max_attempts,
                 unnest(@run_priorities::smallint[]) AS priority, unnest(@run_queues::text[]) AS queue) AS r
    WHERE r.event_id IN (SELECT id FROM ev)
    RETURNING id
), batched AS (
    INSERT INTO fn_batch_events (function, key, event_id)
    SELECT b.f, b.k, b.e
    FROM (SELECT unnest(@batch_functions::text[]) AS f, unnest(@batch_keys::text[]) AS k,
                 unnest(@batch_event_ids::text[]) AS e) AS b
    WHERE b.e IN (SELECT id FROM ev)
    UNION
    SELECT b.f, b.k, ''
    FROM (SELECT unnest(@batch_functions::text[]) AS f, unnest(@batch_keys::text[]) AS k,
                 unnest(@batch_event_ids::text[]) AS e) AS b
    WHERE b.e IN (SELECT id FROM ev)
    ON CONFLICT (function, key, event_id) DO NOTHING
    RETURNING function, key, event_id = '' AS marked
), notified AS (
    SELECT pg_notify(concat(current_schema(), '.river_insert'), json_build_object('queue', q)::text)
    FROM unnest(@notify_queues::text[]) AS q
)
SELECT
    ARRAY(SELECT id FROM ev)::text[] AS inserted,
    ARRAY(SELECT i.id FROM ev i WHERE EXISTS (
        SELECT 1 FROM flow_waits w WHERE w.event_name = i.name AND w.matched_event_id IS NULL
    ))::text[] AS waited,
    ARRAY(SELECT function FROM batched WHERE marked ORDER BY function, key)::text[] AS marked_functions,
    ARRAY(SELECT key FROM batched WHERE marked ORDER BY function, key)::text[] AS marked_keys,
    (SELECT count(*) FROM runs)::bigint AS runs,
    (SELECT count(*) FROM notified)::bigint AS notified;
