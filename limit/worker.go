package limit

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
)

// releaseTimeout bounds the release of a wrapped job's slot, which runs even
// when the job's own context has ended (a timeout, a shutdown).
const releaseTimeout = 5 * time.Second

// leaseMargin is added to a job's timeout to make its slot's lease: the
// slot outlives any attempt that can still be running.
const leaseMargin = 10 * time.Second

// noTimeoutLease is the lease of a job without a timeout of its own.
const noTimeoutLease = time.Hour

// Worker wraps w so that at most n jobs with the same key run at once across
// every process, as Inngest's concurrency key does. key returns a job's key
// (say "shop:" + the shop's id); the rule's Key is the job's kind, a slash
// and that key. A job that finds no capacity is snoozed: it waits without
// using an attempt. The slot is released when w's Work returns, and
// otherwise (the process died) ends with the job's timeout.
func Worker[T river.JobArgs](w river.Worker[T], l *Limiter, n int, key func(T) string) river.Worker[T] {
	return &keyedWorker[T]{Worker: w, limiter: l, n: n, key: key}
}

type keyedWorker[T river.JobArgs] struct {
	river.Worker[T]

	limiter *Limiter
	n       int
	key     func(T) string
}

// Work runs the wrapped Work in a slot of the job's key.
func (w *keyedWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	lease := w.Timeout(job)
	if lease <= 0 {
		lease = noTimeoutLease
	}
	rule := Rule{Key: job.Kind + "/" + w.key(job.Args), Concurrency: w.n, Lease: lease + leaseMargin}
	slot, err := w.limiter.Acquire(ctx, rule, job.ID)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := slot.Release(ctx); err != nil {
			w.limiter.logger.WarnContext(ctx, "Limit slot not released; it counts until its lease ends",
				slog.String("key", rule.Key), slog.Int64("job_id", job.ID), slog.Any("error", err))
		}
	}()
	return w.Worker.Work(ctx, job)
}
