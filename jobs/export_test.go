package jobs

import (
	"fmt"

	"github.com/riverqueue/river"
)

// WorkerFor returns the worker AddWorkers registers for job kind T, built
// from deps as AddWorkers builds it. Tests hand it to rivertest.NewWorker to
// work one job at a time; with deps.DB set to a test transaction, the
// worker's own transactions are savepoints in it.
func WorkerFor[T river.JobArgs](deps Deps) (river.Worker[T], error) {
	d, err := deps.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, r := range d.workers() {
		if w, ok := r.(registered[T]); ok {
			return w.w, nil
		}
	}
	var args T
	return nil, fmt.Errorf("jobs: no worker for kind %s", args.Kind())
}
