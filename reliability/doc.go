// Package reliability holds the reliability suite: the built server binary
// run as separate processes (ROLE=api and ROLE=worker) against a private
// database, with local fakes of Resend and Mixpanel that count requests per
// idempotency key and fail on command. Each scenario ends with one SQL
// audit (every acknowledged write stored, each with exactly its jobs, no job
// left running, each message recorded once, each fake's distinct keys equal
// to the effects expected).
//
// `go test ./reliability/` runs the short tier (small loads, part of
// `make test`); `make reliability` (`go test -tags reliability`) runs the
// full loads and writes reliability/results.md. The tests are in the
// package's _test.go files; see README.md, "Guarantees".
package reliability
