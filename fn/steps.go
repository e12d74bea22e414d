package fn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/outbox"
)

// Run is step.run: it runs fn once; a later run of the function (a retry,
// or the run after a Sleep or WaitForEvent) returns its recorded output
// without calling fn. See flow.Run.
func Run[T any](ctx context.Context, name string, fn func(ctx context.Context) (T, error)) (T, error) {
	return flow.Run(ctx, name, fn)
}

// RunTx is Run for a step whose work is in the database: fn's work and the
// step's record commit together in tx. See flow.RunTx.
func RunTx[T any](ctx context.Context, name string, fn func(ctx context.Context, tx pgx.Tx) (T, error)) (T, error) {
	return flow.RunTx(ctx, name, fn)
}

// Sleep is step.sleep: the run is parked for d (no worker held). Return its
// error from the handler as it is.
func Sleep(ctx context.Context, name string, d time.Duration) error {
	return flow.Sleep(ctx, name, d)
}

// SleepUntil is step.sleepUntil: the run is parked until t.
func SleepUntil(ctx context.Context, name string, t time.Time) error {
	return flow.SleepUntil(ctx, name, t)
}

// Wait says which event WaitForEvent waits for.
type Wait struct {
	// Event is the awaited event's name.
	Event string
	// Match is a field path present in the trigger event and the awaited
	// one, such as "data.orderId": the awaited event must have the trigger
	// event's value there.
	Match string
	// If, when set, must hold for the awaited event as well.
	If func(ev events.Event) bool
	// Timeout is how long to wait from the step's first run.
	Timeout time.Duration
}

// WaitForEvent is step.waitForEvent: it returns the first event after the
// trigger event that matches w, and true, or false once w.Timeout has
// passed. Until then the run is parked (no worker held); Publish wakes it in
// the matching event's transaction.
func WaitForEvent(ctx context.Context, name string, w Wait) (events.Event, bool, error) {
	_, state, err := current(ctx)
	if err != nil {
		return events.Event{}, false, err
	}
	keys, err := splitPath(w.Match)
	if err != nil {
		return events.Event{}, false, fmt.Errorf("fn: step %q: match: %w", name, err)
	}
	return flow.WaitForEvent(ctx, name, flow.Wait{
		Event: w.Event, Key: strings.Join(keys, "."), Value: Field(state.trigger, w.Match),
		If: w.If, Timeout: w.Timeout, After: state.trigger.ID,
	})
}

// SendEvent is step.sendEvent: it publishes evs through the outbox in the
// step's transaction, once, and returns their ids.
func SendEvent(ctx context.Context, name string, evs ...events.Event) ([]string, error) {
	x, _, err := current(ctx)
	if err != nil {
		return nil, err
	}
	return flow.RunTx(ctx, name, func(ctx context.Context, tx pgx.Tx) ([]string, error) {
		client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
		if err != nil {
			return nil, err
		}
		return outbox.New(client, x.reg).Publish(ctx, tx, evs...)
	})
}

// Invoke is step.invoke: it runs function target with data as its event's
// data, waits up to timeout for it to finish, and returns its result
// decoded as a T, or its error. The invoked run is a run of target like any
// other (its options apply); it is started by an InvokedEvent and reports by
// a FinishedEvent, both in the event log.
func Invoke[T any](ctx context.Context, name string, target *Function, data any, timeout time.Duration) (T, error) {
	var zero T
	x, state, err := current(ctx)
	if err != nil {
		return zero, err
	}
	if x.reg.byID[target.ID()] != target {
		return zero, fmt.Errorf("fn: step %q: function %s is not in the registry", name, target.ID())
	}
	inner, err := json.Marshal(data)
	if err != nil {
		return zero, fmt.Errorf("fn: step %q: encode data: %w", name, err)
	}
	payload, err := json.Marshal(map[string]json.RawMessage{"function_id": json.RawMessage(strconv.Quote(target.ID())), "data": inner})
	if err != nil {
		return zero, fmt.Errorf("fn: step %q: encode data: %w", name, err)
	}
	id := "invoke:" + strconv.FormatInt(state.job.ID, 10) + ":" + name
	if _, err := SendEvent(ctx, name+" (invoke)", events.Event{ID: id, Name: InvokedEvent, Data: payload, Source: "fn"}); err != nil {
		return zero, err
	}
	ev, ok, err := flow.WaitForEvent(ctx, name, flow.Wait{
		Event: FinishedEvent, Key: "invocationId", Value: id, Timeout: timeout, After: id,
	})
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, fmt.Errorf("step %s: %s did not finish within %s", name, target.ID(), timeout)
	}
	var fin finishedData
	if err := json.Unmarshal(ev.Data, &fin); err != nil {
		return zero, fmt.Errorf("step %s: decode result: %w", name, err)
	}
	if fin.Error != "" {
		return zero, fmt.Errorf("step %s: %s failed: %s", name, target.ID(), fin.Error)
	}
	var out T
	if len(fin.Result) > 0 {
		if err := json.Unmarshal(fin.Result, &out); err != nil {
			return zero, fmt.Errorf("step %s: decode result: %w", name, err)
		}
	}
	return out, nil
}

// Parallel runs steps at once, each on its own goroutine, and returns when
// all have returned: their errors joined (a parked step's wait among them).
// Each step records itself as steps always do, so a later run runs only
// those that did not finish.
func Parallel(ctx context.Context, steps ...func(ctx context.Context) error) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Go(func() { errs[i] = step(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
