-- name: EventInsertMany :many
-- Inserts a batch of events and returns the ids of the rows it inserted; an id
-- that is already stored (a duplicate) is skipped and not returned. A
-- concurrent transaction inserting the same id waits for this one to finish.
-- Waited says an open wait (flow_waits) is waiting for the event's name: the
-- publisher's look for waits, in this statement, whose snapshot follows its
-- lock on events (see wait_for_writers for why that closes the race
-- with a new wait). One index probe per event; nothing more when no wait is
-- open.
WITH inserted AS (
    INSERT INTO events (id, name, data, ts, source)
    SELECT unnest(@ids::text[]), unnest(@names::text[]), unnest(@datas::jsonb[]),
           unnest(@tss::timestamptz[]), unnest(@sources::text[])
    ON CONFLICT (id) DO NOTHING
    RETURNING id, name
)
SELECT i.id, EXISTS (
    SELECT 1 FROM flow_waits w WHERE w.event_name = i.name AND w.matched_event_id IS NULL
) AS waited
FROM inserted i;

-- name: EventGet :one
SELECT * FROM events WHERE id = @id;

-- name: EventJobList :many
-- The River jobs an event triggered (job args carry event_id).
SELECT id, kind, queue, state, attempt, max_attempts, errors, created_at, finalized_at
FROM river_job
WHERE args ->> 'event_id' = @event_id::text
ORDER BY id;

-- name: EventList :many
-- Browsing the event log (GET /v1/events): newest first by (received_at,
-- id), optionally only one name, a received_at range [since, until), events
-- with at least one job in job_state, and events after a cursor (the
-- received_at and id of the last event of the previous page).
SELECT e.id, e.name, e.data, e.ts, e.received_at, e.source FROM events e
WHERE (sqlc.narg('name')::text IS NULL OR e.name = sqlc.narg('name')::text)
  AND (sqlc.narg('since')::timestamptz IS NULL OR e.received_at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR e.received_at < sqlc.narg('until')::timestamptz)
  AND (sqlc.narg('job_state')::text IS NULL OR EXISTS (
        SELECT 1 FROM river_job j
        WHERE j.args ->> 'event_id' = e.id AND j.state = sqlc.narg('job_state')::text::river_job_state))
  AND (sqlc.narg('after_received_at')::timestamptz IS NULL
       OR (e.received_at, e.id) < (sqlc.narg('after_received_at')::timestamptz, sqlc.narg('after_id')::text))
ORDER BY e.received_at DESC, e.id DESC
LIMIT @max_rows::int;

-- name: EventDeleteOlderThan :execrows
-- Deletes at most max_rows events received before before; the caller
-- repeats it until it deletes fewer.
DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e WHERE e.received_at < @before LIMIT @max_rows::int
);

-- name: EventConflicting :many
-- Of the events given by id, name and data, the ids stored with another name
-- or other data: a sender reusing an id that is already taken. The data is
-- compared as jsonb, so key order and spacing do not count.
WITH n AS (
    SELECT unnest(@ids::text[]) AS id, unnest(@names::text[]) AS name, unnest(@datas::jsonb[]) AS data
)
SELECT e.id FROM n JOIN events e ON e.id = n.id
WHERE e.name <> n.name OR e.data <> n.data;
