-- name: DeliveryClaim :one
-- Claims a message before it is sent: inserts its row as 'sending', or
-- returns the row an earlier attempt wrote under the same key (already
-- 'sent' or 'captured': nothing to send; still 'sending': that attempt may
-- or may not have reached the provider). A job written with package flow
-- writes its finished steps' records in the same statement (steps,
-- outputs, started_ats, completed_ats: flow.Flush; empty otherwise).
WITH steps AS (
    INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
    SELECT sqlc.narg('job_id'), unnest(@steps::text[]), unnest(@outputs::jsonb[]), unnest(@started_ats::timestamptz[]), unnest(@completed_ats::timestamptz[])
)
INSERT INTO deliveries (job_id, event_id, channel, recipient, subject, body, html, provider, status, idempotency_key)
VALUES (sqlc.narg('job_id'), sqlc.narg('event_id'), @channel, @recipient, @subject, @body, @html, '', 'sending', @idempotency_key)
ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = deliveries.idempotency_key
RETURNING *;

-- name: DeliveryRecordSent :execrows
-- Records the provider's answer for a claimed message. A job written with
-- package flow writes step records of job_id in the same statement (steps,
-- outputs, started_ats, completed_ats: flow.RunWrite; empty otherwise).
WITH steps AS (
    INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
    SELECT sqlc.narg('job_id'), unnest(@steps::text[]), unnest(@outputs::jsonb[]), unnest(@started_ats::timestamptz[]), unnest(@completed_ats::timestamptz[])
)
UPDATE deliveries SET
    status = @status,
    provider = @provider,
    provider_message_id = @provider_message_id,
    sent_at = now()
WHERE idempotency_key = @idempotency_key AND status = 'sending';

-- name: DeliveryUnclaim :execrows
-- Removes the claim of a message the provider rejected for good.
DELETE FROM deliveries WHERE idempotency_key = @idempotency_key AND status = 'sending';

-- name: DeliveryDeleteOlderThan :execrows
-- Deletes at most max_rows deliveries (recipients and whole bodies) created
-- before before, except those of a job that is not finished (a retry must
-- still find what it sent); the caller repeats it until it deletes fewer.
DELETE FROM deliveries WHERE id IN (
    SELECT d.id FROM deliveries d
    WHERE d.created_at < @before
      AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = d.job_id AND j.finalized_at IS NULL)
    LIMIT @max_rows::int
);

-- name: DeliveryList :many
-- The development mailbox: the newest messages first, optionally only those
-- to one recipient (compared case-insensitively) or on one channel.
SELECT id, channel, recipient, subject, left(body, 140)::text AS preview, status, provider, created_at FROM deliveries
WHERE (sqlc.narg('recipient')::text IS NULL OR lower(recipient) = lower(sqlc.narg('recipient')::text))
  AND (sqlc.narg('channel')::text IS NULL OR channel = sqlc.narg('channel')::text)
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: DeliveryGet :one
SELECT * FROM deliveries WHERE id = @id;

-- name: DeliveryListByEvent :many
-- The messages an event caused (GET /v1/events/{id}), oldest first.
SELECT id, channel, recipient, subject, status, provider, created_at FROM deliveries
WHERE event_id = @event_id::text
ORDER BY id;
