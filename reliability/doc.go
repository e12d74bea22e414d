// Package reliability holds the reliability suite: the built server binary
// run as separate processes (ROLE=api, ROLE=worker, or all) against a
// private database, with local fakes of Resend, Twilio, OneSignal,
// Typesense and Mixpanel that speak each service's wire format, count
// requests per idempotency key (Twilio, which has none: per recipient and
// body; Typesense: per document id; Mixpanel: distinct $insert_id) and
// fail on command. Each scenario ends with one SQL audit (every
// acknowledged write stored, each with exactly its jobs, no job left
// running, each message recorded once, each fake's distinct keys equal to
// the effects expected) and prints a line of figures.
//
// The scenarios: 1 a worker SIGKILLed during orders; 2 identical events at
// once; 3 every provider failing in every way (500, 429, slow, hung,
// connection reset, lost answer, rejected, failing until the job is
// discarded and alerted); 4 SIGTERM under load; 5 hostile requests; 6 no
// secret or personal data where it does not belong; 7 writes rolled back
// after Publish; 8 PostgreSQL restarted (pg_ctl restart -m fast and
// immediate, on a cluster of the scenario's own) under 50 orders/s; 9 a
// periodic job every few seconds on three workers whose leader is
// SIGKILLed; 10 a soak at a third of the measured capacity, RSS and
// goroutines sampled from /metrics.
//
// Time is compressed where a scenario would otherwise wait: the server's
// test settings (TEST_MAX_ATTEMPTS, TEST_RETRY_DELAY, TEST_CLEANUP_EVERY,
// TEST_MAX_JOB_TIMEOUT, refused in production), and the harness standing in for what the
// passing of time does (River's leader TTL, a long snooze ending) or an
// operator would (retrying a discarded analytics batch), each said where it
// is done. A killed worker's jobs are left to
// River's own rescuer, with the production RescueStuckJobsAfter: the
// scenarios that kill wait for it.
//
// `go test ./reliability/` runs the short tier (small loads, part of
// `make test`); `make reliability` (`go test -tags reliability`) runs the
// full loads and writes reliability/results.md. The tests are in the
// package's _test.go files; see docs/guarantees.md.
package reliability
