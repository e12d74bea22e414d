// Package jobs holds MohallaMart's background functions: one file per
// function, each a declaration of package fn (its id, triggers, options and
// handler), listed in functions (queue.go), the registry. Around them: the
// queues they run in, the email templates, the one way messages are sent
// (deliver, sendSteps) and the failed-job alerts.
//
// A function's River kind is its id with '_' for '-' (send-order-confirmation
// runs as send_order_confirmation): never rename one. Every event-triggered
// run's args carry event_id, and handlers get the event's data from the
// events table, so job args stay small:
//
//	SELECT id, kind, state FROM river_job WHERE args->>'event_id' = '01J...';
//
// # Exactly-once sends
//
// A message (email, SMS, push) is recorded in the deliveries table under an
// idempotency key (function, event id, recipient: IdempotencyKey), claimed
// before the provider is called and marked sent with its answer; River's
// batched completer then completes the job. A retry finds the key sent and
// does not send again; the key also goes to the provider (Resend's
// Idempotency-Key, OneSignal's idempotency_key) for a crash between the
// provider's answer and its record. A rate limit snoozes the job for the
// provider's Retry-After; a permanent rejection cancels it with the provider's
// message; other errors retry with River's backoff.
//
// # Functions as steps
//
// send-order-confirmation and remind-stalled-order are written as steps (load,
// render, send, record; the reminder first waits for the order's next
// update): a retry skips the steps already recorded in flow_steps, and
// sendSteps sends a message once, as two steps.
package jobs
