package fn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/events"
)

// Options are a function's id and flow control, as Inngest's
// createFunction options. Every key is a field path into the trigger event
// ("data.userId", "data.address.city"); a path that a catalog event does not
// have is an error when the Registry is built.
type Options struct {
	// ID is the function's stable id, such as "send-welcome-email": lower
	// case letters, digits and '-'. Its River kind is the id with '_' for
	// '-'. Never rename it: stored jobs name it. Required.
	ID string
	// Version is the function's version, recorded by each run when it is
	// enqueued (default 1). Raise it when the steps change; see Input.Version
	// for how a run parked under an older version finishes.
	Version int
	// Queue is the River queue of its runs (default QueueDefault).
	Queue string
	// Retries is how many times a failed run is retried, at most 20
	// (default 9: ten attempts); NoRetries makes one attempt.
	Retries   int
	NoRetries bool
	// Backoff returns the wait before attempt+1; nil is River's
	// exponential backoff.
	Backoff func(attempt int) time.Duration
	// Timeouts bound an attempt, the wait before a run starts and the whole
	// run.
	Timeouts Timeouts
	// Concurrency limits how many runs with the same key run at once, across
	// every process (limit_slots).
	Concurrency []Concurrency
	// Throttle delays runs past Limit per Period per key: they wait.
	Throttle *Throttle
	// RateLimit drops runs past Limit per Period per key: they are counted,
	// logged and cancelled, not failed.
	RateLimit *RateLimit
	// Debounce runs once Period has passed with no new event for the key,
	// with the last event; at the latest Timeout after the first.
	Debounce *Debounce
	// Priority returns a run's River priority (1, first, to 4) from its
	// trigger event; nil means River's default, 1.
	Priority func(ev events.Event) int
	// BatchEvents gives the handler up to MaxSize events at once.
	BatchEvents *BatchEvents
	// Idempotency starts at most one run per key per TTL.
	Idempotency *Idempotency
	// Singleton allows one run per key at a time.
	Singleton *Singleton
	// CancelOn lists events that cancel the function's runs not yet
	// started.
	CancelOn []CancelOn
	// OnFailure runs once when a run fails for good (its last attempt
	// failed, or it was cancelled by an error), with the error and the
	// event.
	OnFailure func(ctx context.Context, f Failure) error
}

// Timeouts bound a run. Zero means no bound, except Attempt (default 30 s).
type Timeouts struct {
	// Attempt bounds one attempt (River's worker Timeout).
	Attempt time.Duration
	// Start cancels a run not started within Start of being enqueued.
	Start time.Duration
	// Finish cancels a run not finished within Finish of its start.
	Finish time.Duration
}

// Concurrency is one concurrency limit: at most Limit runs with the same
// Key value at once (an empty Key: of the whole function).
type Concurrency struct {
	Key   string
	Limit int
}

// Throttle lets Limit runs per Period start per Key value; the excess
// waits its turn.
type Throttle struct {
	Key    string
	Limit  int
	Period time.Duration
}

// RateLimit lets Limit runs per Period start per Key value; the excess is
// dropped. If, when set, says which runs the limit applies to (by their
// trigger event); the others always run.
type RateLimit struct {
	Key    string
	Limit  int
	Period time.Duration
	If     func(ev events.Event) bool
}

// Debounce delays a run until Period passes with no new event of the same
// Key value, then runs it once with the last event; Timeout (optional) is
// the longest it waits after the first event.
type Debounce struct {
	Key     string
	Period  time.Duration
	Timeout time.Duration
}

// BatchEvents collects events per Key value and runs the handler with up to
// MaxSize of them, Timeout after the first of a batch.
type BatchEvents struct {
	MaxSize int
	Timeout time.Duration
	Key     string
}

// Idempotency starts one run per Key value per TTL (default 24 h); later
// events with the same value start none.
type Idempotency struct {
	Key string
	TTL time.Duration
}

// SingletonMode says what a new run does while another with the same key
// is running or waiting.
type SingletonMode string

// Singleton modes.
const (
	// SingletonSkip drops the new run.
	SingletonSkip SingletonMode = "skip"
	// SingletonCancel cancels the waiting runs and starts the new one.
	SingletonCancel SingletonMode = "cancel"
)

// Singleton allows one run per Key value (empty: per function) at a time.
type Singleton struct {
	Key  string
	Mode SingletonMode
}

// CancelOn cancels a function's runs not yet started (or parked by a step)
// when Event is published with the same value at Match as the run's trigger
// event, in the cancelling event's transaction. A function's cancelOns all
// match on one field path (each run stores its trigger's value there, in
// args.ck, indexed).
type CancelOn struct {
	// Event is the cancelling event's name.
	Event string
	// Match is a field path present in both events, such as "data.orderId".
	Match string
	// If, when set, must hold for the cancelling event.
	If func(ev events.Event) bool
	// Timeout, when set, limits the cancellation to runs enqueued less than
	// Timeout before the cancelling event.
	Timeout time.Duration
}

// Failure is what OnFailure gets: the failed run's function, job, error and
// trigger event.
type Failure struct {
	FunctionID string
	RunID      int64
	Error      string
	Event      events.Event
}

// Trigger is what starts a function: an event name with an optional filter,
// or a schedule.
type Trigger struct {
	// Event is an event name (catalog or custom).
	Event string
	// If, when set, must hold for the event; Expr is the expression it was
	// parsed from (OnIf).
	If   func(ev events.Event) bool
	Expr string
	// Schedule, for a scheduled function, says when it runs; Describe says
	// it in words for the docs ("0 3 * * * Asia/Kolkata").
	Schedule river.PeriodicSchedule
	Describe string

	err error // an Expr or schedule that did not parse
}

// On returns one trigger per event name.
func On(names ...string) []Trigger {
	ts := make([]Trigger, len(names))
	for i, n := range names {
		ts[i] = Trigger{Event: n}
	}
	return ts
}

// Input is what a handler gets.
type Input[P any] struct {
	// Event is the trigger event (the first of a batch; the zero Event for a
	// scheduled run).
	Event events.Event
	// Data is Event's data decoded: a catalog payload, or the raw JSON of a
	// custom event with P json.RawMessage.
	Data P
	// Events and Batch are a batch's events and their data (Event and Data
	// alone otherwise).
	Events []events.Event
	Batch  []P
	// Job is the River job of the run.
	Job *rivertype.JobRow
	// Version is the function's version when the run was enqueued. Steps
	// are matched by name: a run parked while its function gained a step
	// runs the new step when it reaches it, and a step the function lost is
	// never run again; code between steps always runs as the current version
	// says.
	Version int
	// ScheduledFor is the period a scheduled run is for.
	ScheduledFor time.Time
}

// Handler is a function's code. Its result is recorded as the run's output
// (what Invoke returns) and must marshal to JSON.
type Handler[P any] func(ctx context.Context, in Input[P]) (any, error)

// Function is a declared function. Build it with New; add it to a
// Registry.
type Function struct {
	opts     Options
	triggers []Trigger
	payload  reflect.Type
	run      func(ctx context.Context, in rawInput) (any, error)
}

// rawInput is an Input before its data is decoded.
type rawInput struct {
	events       []events.Event
	job          *rivertype.JobRow
	version      int
	scheduledFor time.Time
	// taken are the ids of the events a batch run took from its batch
	// (its $batch step), set even when loading them failed: a run that
	// fails for good puts them back.
	taken []string
	// held: the function is paused and the run held itself (it runs
	// nothing).
	held bool
}

// New declares a function: its options, its triggers and its handler, which
// gets each event's data as a P (a catalog payload type such as
// events.UserCreated, events.Payload for several catalog events, or
// json.RawMessage for any event).
func New[P any](opts Options, triggers []Trigger, h Handler[P]) *Function {
	return &Function{
		opts:     opts,
		triggers: triggers,
		payload:  reflect.TypeFor[P](),
		run: func(ctx context.Context, in rawInput) (any, error) {
			typed := Input[P]{Events: in.events, Job: in.job, Version: in.version, ScheduledFor: in.scheduledFor}
			for i, ev := range in.events {
				p, err := decodeAs[P](ev)
				if err != nil {
					return nil, river.JobCancel(err)
				}
				if i == 0 {
					typed.Event, typed.Data = ev, p
				}
				typed.Batch = append(typed.Batch, p)
			}
			return h(ctx, typed)
		},
	}
}

// ID is the function's id.
func (f *Function) ID() string { return f.opts.ID }

// Kind is the River kind of the function's runs.
func (f *Function) Kind() string { return strings.ReplaceAll(f.opts.ID, "-", "_") }

// Options are the function's options.
func (f *Function) Options() Options { return f.opts }

// Triggers are the function's triggers.
func (f *Function) Triggers() []Trigger { return f.triggers }

var (
	rawType     = reflect.TypeFor[json.RawMessage]()
	payloadType = reflect.TypeFor[events.Payload]()
)

// decodeAs decodes ev's data as a P.
func decodeAs[P any](ev events.Event) (P, error) {
	var out P
	t := reflect.TypeFor[P]()
	if t == rawType {
		return any(json.RawMessage(ev.Data)).(P), nil //nolint:forcetypeassert // P is json.RawMessage
	}
	if events.Known(ev.Name) {
		p, err := events.Decode(ev)
		if err != nil {
			return out, fmt.Errorf("decode event %s: %w", ev.ID, err)
		}
		if typed, ok := p.(P); ok {
			return typed, nil
		}
		return out, fmt.Errorf("event %s is %s, not %s", ev.ID, ev.Name, t)
	}
	if t == payloadType || t.Kind() == reflect.Interface {
		return out, fmt.Errorf("event %s (%s) is not in the catalog", ev.ID, ev.Name)
	}
	if err := json.Unmarshal(ev.Data, &out); err != nil {
		return out, fmt.Errorf("decode event %s: %w", ev.ID, err)
	}
	return out, nil
}

// maxRetries bounds Options.Retries, as Inngest's retries option.
const maxRetries = 20

// check reports what is wrong with f's declaration.
func (f *Function) check() error {
	o := f.opts
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !validID(o.ID) {
		bad("id %q: use lower case letters, digits and '-'", o.ID)
	}
	if len(f.triggers) == 0 {
		bad("no trigger")
	}
	if o.Retries < 0 || o.Retries > maxRetries {
		bad("retries must be between 0 and %d", maxRetries)
	}
	for _, t := range f.triggers {
		if (t.Event == "") == (t.Schedule == nil) {
			bad("a trigger needs an event name or a schedule, not both")
		}
		if s, ok := t.Schedule.(invalidSchedule); ok {
			bad("%w", s.err)
		}
		if t.err != nil {
			bad("trigger %s: %w", t.Event, t.err)
		}
		if t.Expr != "" && t.err == nil {
			c, _ := parseCondition(t.Expr)
			for _, cmp := range c {
				if err := checkPath(t.Event, cmp.path); err != nil {
					bad("trigger %s: if: %w", t.Event, err)
				}
			}
		}
		if t.Event != "" && events.Known(t.Event) && f.payload != rawType {
			if !reflect.TypeOf(events.Zero(t.Event)).AssignableTo(f.payload) {
				bad("trigger %s: its data is %T, the handler takes %s", t.Event, events.Zero(t.Event), f.payload)
			}
		}
	}
	keys := map[string]string{}
	for i, c := range o.Concurrency {
		if c.Limit <= 0 {
			bad("concurrency[%d].limit must be positive", i)
		}
		keys[fmt.Sprintf("concurrency[%d].key", i)] = c.Key
	}
	if t := o.Throttle; t != nil {
		if t.Limit <= 0 || t.Period <= 0 {
			bad("throttle: limit and period must be positive")
		}
		keys["throttle.key"] = t.Key
	}
	if r := o.RateLimit; r != nil {
		if r.Limit <= 0 || r.Period <= 0 {
			bad("rateLimit: limit and period must be positive")
		}
		keys["rateLimit.key"] = r.Key
	}
	if d := o.Debounce; d != nil {
		if d.Period <= 0 || d.Timeout < 0 {
			bad("debounce: period must be positive")
		}
		keys["debounce.key"] = d.Key
	}
	if b := o.BatchEvents; b != nil {
		if b.MaxSize <= 0 || b.Timeout <= 0 {
			bad("batchEvents: maxSize and timeout must be positive")
		}
		keys["batchEvents.key"] = b.Key
	}
	if id := o.Idempotency; id != nil {
		if id.Key == "" {
			bad("idempotency.key is required")
		}
		keys["idempotency.key"] = id.Key
	}
	if s := o.Singleton; s != nil {
		if s.Mode != SingletonSkip && s.Mode != SingletonCancel {
			bad("singleton.mode must be %q or %q", SingletonSkip, SingletonCancel)
		}
		keys["singleton.key"] = s.Key
	}
	if o.Debounce != nil && o.BatchEvents != nil {
		bad("debounce and batchEvents cannot be combined")
	}
	for name, expr := range keys {
		if err := checkKey(triggerEvents(f.triggers), expr); err != nil {
			bad("%s: %w", name, err)
		}
	}
	for i, c := range o.CancelOn {
		if c.Match != o.CancelOn[0].Match {
			bad("cancelOn[%d].match: a function's cancelOns match on one field path (%s)", i, o.CancelOn[0].Match)
		}
		if c.Event == "" || c.Match == "" {
			bad("cancelOn[%d]: event and match are required", i)
			continue
		}
		for _, ev := range append([]string{c.Event}, triggerEvents(f.triggers)...) {
			if err := checkPath(ev, c.Match); err != nil {
				bad("cancelOn[%d].match: %w", i, err)
			}
		}
	}
	return errors.Join(errs...)
}

func triggerEvents(ts []Trigger) []string {
	var names []string
	for _, t := range ts {
		if t.Event != "" {
			names = append(names, t.Event)
		}
	}
	return names
}

func validID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
