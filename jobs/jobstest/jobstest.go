// Package jobstest gives tests the function registry of package jobs, for
// the outbox of a test that publishes events.
package jobstest

import (
	"testing"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/jobs"
)

// Registry returns the registry of every function, with d as its database
// and the default settings and providers (capture, Postgres).
func Registry(tb testing.TB, d db.DB) *fn.Registry {
	tb.Helper()
	reg, err := jobs.NewRegistry(jobs.Deps{DB: d})
	if err != nil {
		tb.Fatalf("function registry: %v", err)
	}
	return reg
}
