package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// applyTestSettings puts the test settings (TEST_*, refused in
// production) in River's configuration, and warns that they are in effect.
// TEST_CLEANUP_EVERY is applied with the periodic jobs (buildJobs).
func applyTestSettings(ctx context.Context, cfg Config, rc *river.Config, logger *slog.Logger) {
	set := cfg.testSettings()
	if len(set) == 0 {
		return
	}
	logger.WarnContext(ctx, "Test settings in effect (refused in production)", slog.String("settings", strings.Join(set, " ")))
	if cfg.TestMaxAttempts > 0 {
		rc.Middleware = append(rc.Middleware, &maxAttemptsCap{attempts: cfg.TestMaxAttempts})
	}
	if cfg.TestRetryDelay > 0 {
		rc.RetryPolicy = constantRetry(cfg.TestRetryDelay)
	}
}

// maxAttemptsCap is TEST_MAX_ATTEMPTS: a River insert middleware that
// lowers the max attempts of every job inserted to attempts, so a job that
// always fails is discarded (and alerted) after a few attempts.
type maxAttemptsCap struct {
	river.MiddlewareDefaults

	attempts int
}

// InsertMany caps the jobs' attempts and inserts them.
func (m *maxAttemptsCap) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams,
	doInner func(context.Context) ([]*rivertype.JobInsertResult, error),
) ([]*rivertype.JobInsertResult, error) {
	for _, p := range params {
		p.MaxAttempts = min(p.MaxAttempts, m.attempts)
	}
	return doInner(ctx)
}

// constantRetry is TEST_RETRY_DELAY: River's retry policy with the same
// short delay before every retry.
type constantRetry time.Duration

// NextRetry is the delay from now.
func (d constantRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(time.Duration(d))
}
