package progress_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/progress"
)

// TestLines: off a terminal, a line at each tenth reached, not one per
// report.
func TestLines(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	r := progress.New(&b, "events", false)
	for done := 100; done <= 1000; done += 50 {
		r.Report(done, 1000)
	}
	r.Report(1000, 1000)
	r.Finish()
	want := ""
	for i := 1; i <= 10; i++ {
		want += fmtLine(i*100, 1000, i*10)
	}
	require.Equal(t, want, b.String())
}

func fmtLine(done, total, pct int) string {
	return fmt.Sprintf("%d/%d events (%d%%)\n", done, total, pct)
}

// TestBar: on a terminal, one bar redrawn in place, ended by Finish.
func TestBar(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	r := progress.New(&b, "jobs", true)
	r.Report(1, 2)
	r.Report(2, 2)
	r.Finish()
	require.Equal(t, "\r[###############...............] 1/2 jobs\r[##############################] 2/2 jobs\n", b.String())
	require.False(t, progress.IsTerminal(&b))
}
