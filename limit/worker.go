package limit

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

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
	return w.limiter.Do(ctx, rule, job.ID, func(ctx context.Context) error { return w.Worker.Work(ctx, job) })
}
