package runs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/internal/logctx"
)

// The bounds of what one attempt of a run keeps of its log lines.
const (
	LogLines = 50
	LogBytes = 8 << 10
)

// logWriteTimeout bounds the write of an attempt's lines, which runs even
// when the job's context has ended.
const logWriteTimeout = 5 * time.Second

// LogMiddleware is River worker middleware that keeps the lines a job logs
// while it works (through a logctx.Handler, with a ...Context method and
// the job's context) and stores them in run_logs when the attempt ends:
// at most LogLines lines and LogBytes bytes per attempt, the number of the
// others. An attempt that logged nothing writes nothing. The lines are
// those the logger writes, so what it redacts (secrets, personal data) is
// redacted here too. The rows go with their job (ON DELETE CASCADE), so
// River's job retention is theirs.
type LogMiddleware struct {
	river.MiddlewareDefaults
	db     db.DB
	logger *slog.Logger
}

// NewLogMiddleware returns the middleware; it writes to d and logs a
// failed write to logger.
func NewLogMiddleware(d db.DB, logger *slog.Logger) *LogMiddleware {
	return &LogMiddleware{db: d, logger: logger}
}

// Work runs the job with a capture of its log lines, then stores them.
func (m *LogMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	c := logctx.NewCapture(LogLines, LogBytes)
	err := doInner(logctx.WithCapture(ctx, c))
	lines, dropped := c.Lines()
	if len(lines) == 0 {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logWriteTimeout)
	defer cancel()
	if werr := db.New(m.db).RunLogsInsert(wctx, db.RunLogsInsertParams{
		JobID: job.ID, Attempt: int16(min(job.Attempt, 1<<15-1)), Lines: lines, Truncated: int32(dropped), //nolint:gosec // bounded above
	}); werr != nil {
		// Logged without the job's context, so the line is not captured.
		m.logger.WarnContext(context.Background(), "Store a run's log lines",
			slog.Int64("job_id", job.ID), slog.String("error", fmt.Errorf("store run logs: %w", werr).Error()))
	}
	return err
}
