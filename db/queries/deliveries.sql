-- name: DeliveryLock :exec
-- Serialises the sends of one idempotency key until the transaction ends, so
-- two runs of the same job (a rescued job whose first run is still going)
-- cannot both find the key missing and send.
SELECT pg_advisory_xact_lock(hashtextextended(@idempotency_key::text, 0));

-- name: DeliveryGetByKey :one
SELECT * FROM deliveries WHERE idempotency_key = @idempotency_key;

-- name: DeliveryInsert :one
INSERT INTO deliveries (job_id, event_id, channel, recipient, subject, body, provider, provider_message_id, status, idempotency_key)
VALUES (sqlc.narg('job_id'), sqlc.narg('event_id'), @channel, @recipient, @subject, @body, @provider, @provider_message_id, @status, @idempotency_key)
RETURNING *;
