package jobs_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitJobs polls until kind has n jobs in a final state (completed,
// cancelled or discarded) and returns every job of kind.
//
// Only periodic_test.go uses it, for jobs that any of several clients may
// work; other tests wait on their own client's events (testBundle.waitJobs).
// Delete this file once periodic_test.go waits on events too.
func waitJobs(t *testing.T, pool *pgxpool.Pool, kind string, n int) []jobRow {
	t.Helper()
	var rows []jobRow
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rows = listJobs(t, pool, kind)
		done := 0
		for _, r := range rows {
			if r.State == "completed" || r.State == "cancelled" || r.State == "discarded" {
				done++
			}
		}
		assert.GreaterOrEqual(c, done, n)
	}, 15*time.Second, 20*time.Millisecond)
	return rows
}
