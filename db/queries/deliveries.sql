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

-- name: DeliveryClaimMany :many
-- DeliveryClaim for many messages at once (of many jobs: a group commit),
-- each with its own key; the steps' records name their job (step_job_ids).
-- Returns a row per key. Two messages with one key fail the statement
-- (the caller then claims each alone).
WITH steps AS (
    INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
    SELECT unnest(@step_job_ids::bigint[]), unnest(@steps::text[]), unnest(@outputs::jsonb[]),
           unnest(@started_ats::timestamptz[]), unnest(@completed_ats::timestamptz[])
)
INSERT INTO deliveries (job_id, event_id, channel, recipient, subject, body, html, provider, status, idempotency_key)
SELECT nullif(m.job_id, 0), nullif(m.event_id, ''), m.channel, m.recipient, m.subject, m.body, m.html, '', 'sending', m.idempotency_key
FROM (SELECT unnest(@job_ids::bigint[]) AS job_id, unnest(@event_ids::text[]) AS event_id,
             unnest(@channels::text[]) AS channel, unnest(@recipients::text[]) AS recipient,
             unnest(@subjects::text[]) AS subject, unnest(@bodies::text[]) AS body, unnest(@htmls::text[]) AS html,
             unnest(@idempotency_keys::text[]) AS idempotency_key) AS m
ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = deliveries.idempotency_key
RETURNING *;

-- name: DeliveryRecordSentMany :many
-- DeliveryRecordSent for many claimed messages at once (a group commit);
-- the steps' records name their job (step_job_ids). Returns the keys of
-- the rows it marked.
WITH steps AS (
    INSERT INTO flow_steps (job_id, step, output, started_at, completed_at)
    SELECT unnest(@step_job_ids::bigint[]), unnest(@steps::text[]), unnest(@outputs::jsonb[]),
           unnest(@started_ats::timestamptz[]), unnest(@completed_ats::timestamptz[])
)
UPDATE deliveries d SET
    status = s.status,
    provider = s.provider,
    provider_message_id = s.provider_message_id,
    sent_at = now()
FROM (SELECT unnest(@idempotency_keys::text[]) AS idempotency_key, unnest(@statuses::text[]) AS status,
             unnest(@providers::text[]) AS provider, unnest(@provider_message_ids::text[]) AS provider_message_id) AS s
WHERE d.idempotency_key = s.idempotency_key AND d.status = 'sending'
RETURNING d.idempotency_key;
