package logctx

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobMiddleware is River worker middleware that puts the job's id and kind
// in the context's log attributes (job_id, job_kind), so every line a
// worker logs with a ...Context method through a Handler names its job.
// Add it to river.Config.Middleware.
type JobMiddleware struct {
	river.MiddlewareDefaults
}

// Work runs the job with job_id and job_kind in its log context.
func (*JobMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	return doInner(With(ctx, slog.Int64("job_id", job.ID), slog.String("job_kind", job.Kind)))
}
