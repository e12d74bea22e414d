package fn

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// QueueDefault is the queue of a function that names none.
const QueueDefault = river.QueueDefault

// Internal event names, as Inngest's: Invoke publishes InvokedEvent, which
// starts the invoked function; an invoked run publishes FinishedEvent when
// it finishes, which the invoking run waits for.
const (
	InvokedEvent  = "inngest/function.invoked"
	FinishedEvent = "inngest/function.finished"
)

// defaultAttemptTimeout bounds an attempt of a function without
// Timeouts.Attempt.
const defaultAttemptTimeout = 30 * time.Second

// Registry is the set of declared functions: the routing table, the River
// kinds and workers, and the periodic jobs, all derived from them.
type Registry struct {
	fns     []*Function
	byID    map[string]*Function
	byKind  map[string]*Function
	byEvent map[string][]route
	cancels map[string][]cancelRule

	insert InsertOptions
	notify notifyLimiter
}

// route is one function listening to one event name.
type route struct {
	f       *Function
	trigger Trigger
}

// cancelRule is one cancelOn of one function.
type cancelRule struct {
	f *Function
	c CancelOn
}

// NewRegistry checks the declarations and builds their registry. An invalid
// option, a key path a catalog event does not have, or two functions with
// one id is an error naming the function and the option.
func NewRegistry(fns ...*Function) (*Registry, error) {
	r := &Registry{
		byID: map[string]*Function{}, byKind: map[string]*Function{},
		byEvent: map[string][]route{}, cancels: map[string][]cancelRule{},
		insert: InsertOptions{NotifyCooldown: defaultNotifyCooldown},
	}
	var errs []error
	for _, f := range fns {
		if err := f.check(); err != nil {
			errs = append(errs, fmt.Errorf("function %s: %w", f.ID(), err))
			continue
		}
		if r.byID[f.ID()] != nil || r.byKind[f.Kind()] != nil {
			errs = append(errs, fmt.Errorf("function %s: declared twice", f.ID()))
			continue
		}
		r.fns = append(r.fns, f)
		r.byID[f.ID()], r.byKind[f.Kind()] = f, f
		for _, t := range f.triggers {
			if t.Event != "" {
				r.byEvent[t.Event] = append(r.byEvent[t.Event], route{f: f, trigger: t})
			}
		}
		for _, c := range f.opts.CancelOn {
			r.cancels[c.Event] = append(r.cancels[c.Event], cancelRule{f: f, c: c})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fn: %w", err)
	}
	return r, nil
}

// Functions returns the functions, sorted by id.
func (r *Registry) Functions() []*Function {
	out := slices.Clone(r.fns)
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Function returns the function with the given id, or nil.
func (r *Registry) Function(id string) *Function { return r.byID[id] }

// Routed reports whether events called name start a function (before
// their filters).
func (r *Registry) Routed(name string) bool { return len(r.byEvent[name]) > 0 }

// Listeners returns the functions an event named name triggers (before
// their filters), sorted by id.
func (r *Registry) Listeners(name string) []*Function {
	var out []*Function
	for _, rt := range r.byEvent[name] {
		if !slices.Contains(out, rt.f) {
			out = append(out, rt.f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// args are the args of a run of f.
func (f *Function) args() Args {
	v := f.opts.Version
	if v == 0 {
		v = 1
	}
	return Args{kind: f.Kind(), V: v}
}

// attempts is River's MaxAttempts for f.
func (f *Function) attempts() int {
	switch {
	case f.opts.NoRetries:
		return 1
	case f.opts.Retries > 0:
		return f.opts.Retries + 1
	}
	return 10
}

// timeout is f's attempt timeout.
func (f *Function) timeout() time.Duration {
	if f.opts.Timeouts.Attempt > 0 {
		return f.opts.Timeouts.Attempt
	}
	return defaultAttemptTimeout
}

// keyedRun is the args and insert options of f's run for the debounce or
// batch key value key, due at at (now when zero).
func (f *Function) keyedRun(key string, at time.Time) (Args, *river.InsertOpts) {
	args := f.args()
	args.Key = key
	opts := f.insertOpts(0)
	opts.ScheduledAt = at
	return args, opts
}

// nonFinal are the states of a run not finished: a singleton's unique
// states.
func nonFinal() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}
}

// insertOpts are the insert options of a run of f.
func (f *Function) insertOpts(priority int) *river.InsertOpts {
	queue := f.opts.Queue
	if queue == "" {
		queue = QueueDefault
	}
	opts := &river.InsertOpts{Queue: queue, MaxAttempts: f.attempts(), Priority: priority}
	if s := f.opts.Singleton; s != nil && s.Mode == SingletonSkip {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: nonFinal()}
	}
	return opts
}
