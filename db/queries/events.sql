-- name: EventInsertMany :many
-- Inserts a batch of events and returns the ids of the rows it inserted; an id
-- that is already stored (a duplicate) is skipped and not returned. A
-- concurrent transaction inserting the same id waits for this one to finish.
INSERT INTO events (id, name, data, ts, source)
SELECT unnest(@ids::text[]), unnest(@names::text[]), unnest(@datas::jsonb[]),
       unnest(@tss::timestamptz[]), unnest(@sources::text[])
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: EventGet :one
SELECT * FROM events WHERE id = @id;

-- name: EventJobList :many
-- The River jobs an event triggered (job args carry event_id).
SELECT id, kind, queue, state, attempt, max_attempts, errors, created_at, finalized_at
FROM river_job
WHERE args ->> 'event_id' = @event_id::text
ORDER BY id;

-- name: EventDeleteOlderThan :execrows
-- Deletes at most max_rows events received before before; the caller
-- repeats it until it deletes fewer.
DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e WHERE e.received_at < @before LIMIT @max_rows::int
);
