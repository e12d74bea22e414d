// Package jobs holds MohallaMart's background functions as River job kinds:
// one file per function with its args (Kind, InsertOpts) and worker, the
// queues they run in, Route (the table that says which jobs each event
// triggers), the periodic jobs and the failed-job alerts.
//
// Kinds are stored in river_job rows: never rename one. Every event-triggered
// job's args carry event_id, and workers read the event's data from the
// events table, so job args stay small:
//
//	SELECT id, kind, state FROM river_job WHERE args->>'event_id' = '01J...';
//
// # Exactly-once sends
//
// A message (email, SMS, push) is recorded in the deliveries table under an
// idempotency key (function, event id, recipient: IdempotencyKey) in the
// transaction that completes the job (river.JobCompleteTx). A retry finds
// the key and does not send again; the key also goes to the provider
// (Resend's Idempotency-Key, OneSignal's idempotency_key) for a crash between
// the provider's answer and the commit. A rate limit snoozes the job for the
// provider's Retry-After; a permanent rejection cancels it with the provider's
// message; other errors retry with River's backoff.
//
// # Functions as steps
//
// send_order_confirmation and remind_stalled_order are written as steps with
// package flow (load, render, send, record; the reminder first waits for the
// order's next update): a retry skips the steps already recorded in
// flow_steps, and sendSteps sends a message once, as two steps.
//
// # Fresh state
//
// index_product reads the product when it runs, under an advisory lock that
// outbox.Publish also takes (ProductIndexLockKey), so a burst of updates
// coalesces into one pending job without losing an update made while the job
// runs.
package jobs
