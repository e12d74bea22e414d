package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Wait says which event a WaitForEvent step waits for: the first event named
// Event whose data has the field Key at Value (and for which If, if set,
// returns true).
type Wait struct {
	// Event is the event's name, such as events.NameOrderUpdated.
	Event string
	// Key is the path of a field of the event's data: a top-level field,
	// such as "orderId", or a field of nested objects, their keys joined
	// with dots, such as "address.city" (a leading "data." is dropped, so
	// "data.orderId" is "orderId"). Value is the text the field must hold (a
	// string's text, a number's or boolean's JSON text: "42"). The path
	// goes through objects only: a field in an array ("items.0.id") is not
	// matched when an event is published, and a key with a dot in it cannot
	// be named.
	Key, Value string
	// Timeout is how long the step waits from its first run.
	Timeout time.Duration
	// After, if set, is an event's id (usually the event that triggered the
	// job): events received after it match too, even those received before
	// the wait began, so nothing between the trigger and the wait is missed.
	// The After event itself never matches. Unset: events received from the
	// wait's first run on.
	After string
	// If, if set, is a further condition on an event that matches Event and
	// Key: an event for which it returns false is passed over for good, and
	// the wait goes on with the other matching events (the first of those
	// already received that it has not passed over, else the next one
	// published), until one passes or the deadline. It runs in the step, on
	// each run that gets a matching event, so like the code between steps it
	// must be cheap and deterministic. It is not run on the event of a
	// recorded step.
	If func(ev events.Event) bool
}

// waitOutput is a WaitForEvent step's recorded output: the event, or null
// when the wait timed out.
type waitOutput struct {
	Event *eventOutput `json:"event"`
}

type eventOutput struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Data json.RawMessage `json:"data"`
	TS   time.Time       `json:"ts"`
}

// WaitResult is the recorded output of a WaitForEvent step that got ev, or
// of one that timed out if ev is nil, for WithResults. ev.Data must be JSON
// (or nil): it panics otherwise, as a test's mistake.
func WaitResult(ev *events.Event) json.RawMessage {
	var out waitOutput
	if ev != nil {
		out.Event = &eventOutput{ID: ev.ID, Name: ev.Name, Data: ev.Data, TS: ev.TS}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("flow: wait result of event %s: %v", ev.ID, err))
	}
	return raw
}

// matchPath is the path key names, as flow_waits.match_key holds it: object
// keys joined with dots, without a leading "data.". It reports false if key
// is not such a path (an empty key, or one with an empty key in it).
func matchPath(key string) (string, bool) {
	path := strings.TrimPrefix(key, "data.")
	if path == "" || slices.Contains(strings.Split(path, "."), "") {
		return "", false
	}
	return path, true
}

// PublishersInFlightWait is how long a new wait's run waits for the
// transactions in flight that write events (publishers that looked for
// waits before it was committed) to end before its first look. Past it, the
// job parks for a second and its next run waits and looks again. A batch's
// run waits as long for the transactions that write batches (package fn).
const PublishersInFlightWait = 10 * time.Second

// WaitForEvent is a step that waits until an event matching w is published,
// or w.Timeout has passed. It returns the event and true, or false at the
// timeout. Until then it returns the error that parks the job (return it from
// Work as it is, or wrapped).
//
// Its first run registers the wait (a flow_waits row) and parks the job
// until the deadline. outbox.Publish, in the transaction that stores a
// matching event, marks the wait matched and makes the job available now, so
// the event wakes the job only if that transaction commits. The next run
// returns the event. A run at the deadline looks once more for a matching
// event before it reports the timeout.
//
// An event w.If turns down is added to the wait's rejected events (which its
// looks skip) and the wait is open again, in one statement; the step then
// waits for the publishers of w.Event in flight, as a new wait does, and
// looks for the next matching event, so an event published while the wait
// was matched is not missed. If there is none, the job parks again.
func WaitForEvent(ctx context.Context, name string, w Wait) (events.Event, bool, error) {
	r, done, err := begin(ctx, name)
	if err != nil {
		return events.Event{}, false, err
	}
	if done != nil {
		out, err := decode[waitOutput](name, done.output)
		if err != nil || out.Event == nil {
			return events.Event{}, false, err
		}
		return out.Event.event(), true, nil
	}
	path, ok := matchPath(w.Key)
	if !ok || w.Event == "" || w.Timeout <= 0 {
		return events.Event{}, false, fmt.Errorf("flow: step %q: a Wait needs an Event, a Key (the path of a field) and a positive Timeout", name)
	}

	q := db.New(r.db)
	wait, err := q.FlowWaitGet(ctx, db.FlowWaitGetParams{JobID: r.jobID, Step: name})
	first := errors.Is(err, pgx.ErrNoRows)
	if first {
		wait, err = q.FlowWaitInsert(ctx, db.FlowWaitInsertParams{
			JobID: r.jobID, Step: name, EventName: w.Event, MatchKey: path, MatchValue: w.Value,
			AfterEventID: w.After, Deadline: time.Now().Add(w.Timeout),
		})
	}
	if err != nil {
		return events.Event{}, false, fmt.Errorf("flow: step %q: register wait: %w", name, err)
	}
	// Look for a matching event even if none matched the wait: on the first
	// run, and on a run after one that could not make its first look.
	look := first || wait.Unsettled
	for {
		if look {
			// The wait is committed (or open again): let the publishers that
			// may not have seen it open commit, so the look below sees their
			// events.
			settled, err := q.FlowWaitForPublishers(ctx, PublishersInFlightWait.Seconds())
			if err != nil {
				return events.Event{}, false, fmt.Errorf("flow: step %q: wait for publishers in flight: %w", name, err)
			}
			if wait.Unsettled == settled { // the record is out of date
				err := q.FlowWaitSetUnsettled(ctx, db.FlowWaitSetUnsettledParams{JobID: r.jobID, Step: name, Unsettled: !settled})
				if err != nil {
					return events.Event{}, false, fmt.Errorf("flow: step %q: record the look: %w", name, err)
				}
				wait.Unsettled = !settled
			}
			if !settled {
				// A transaction that writes events has been open for
				// longer than a publish takes: look again shortly.
				return events.Event{}, false, park(min(time.Second, time.Until(wait.Deadline)))
			}
		}
		timedOut := !time.Now().Before(wait.Deadline)
		var ev *db.Event
		switch {
		case wait.MatchedEventID != nil:
			if ev, err = q.EventGet(ctx, *wait.MatchedEventID); err != nil {
				return events.Event{}, false, fmt.Errorf("flow: step %q: load event %s: %w", name, *wait.MatchedEventID, err)
			}
		case look || timedOut:
			// First look: events received since w.After, including those of
			// publishers that were in flight when the wait committed. A look
			// after If turned an event down. Last look: at the deadline, once
			// more.
			ev, err = q.FlowWaitFindEvent(ctx, db.FlowWaitFindEventParams{
				EventName: wait.EventName, MatchKey: wait.MatchKey, MatchValue: wait.MatchValue,
				Since: wait.Since, AfterEventID: wait.AfterEventID, RejectedEventIDs: wait.RejectedEventIDs,
			})
			if errors.Is(err, pgx.ErrNoRows) {
				ev, err = nil, nil
			}
			if err != nil {
				return events.Event{}, false, fmt.Errorf("flow: step %q: find event: %w", name, err)
			}
		}
		if ev == nil {
			if !timedOut {
				return events.Event{}, false, park(time.Until(wait.Deadline))
			}
			return finishWait(ctx, r, name, wait.CreatedAt, nil)
		}
		out := &eventOutput{ID: ev.ID, Name: ev.Name, Data: ev.Data, TS: ev.Ts.UTC()}
		if w.If == nil || w.If(out.event()) {
			return finishWait(ctx, r, name, wait.CreatedAt, out)
		}
		wait, err = q.FlowWaitReject(ctx, db.FlowWaitRejectParams{JobID: r.jobID, Step: name, EventID: ev.ID})
		if err != nil {
			return events.Event{}, false, fmt.Errorf("flow: step %q: pass over event %s: %w", name, ev.ID, err)
		}
		look = true
	}
}

// finishWait records wait step name, registered at started, as finished
// with event ev (nil: it timed out) and removes its wait, in one
// transaction.
func finishWait(ctx context.Context, r *run, name string, started time.Time, ev *eventOutput) (events.Event, bool, error) {
	out := waitOutput{Event: ev}
	raw, err := encode(name, out)
	if err != nil {
		return events.Event{}, false, err
	}
	err = db.InTx(ctx, r.db, func(tx pgx.Tx) error {
		if err := r.writeIn(ctx, tx, record(name, raw, started, now())); err != nil {
			return err
		}
		if err := db.New(tx).FlowWaitDelete(ctx, db.FlowWaitDeleteParams{JobID: r.jobID, Step: name}); err != nil {
			return fmt.Errorf("flow: step %q: remove wait: %w", name, err)
		}
		return nil
	})
	if err != nil || ev == nil {
		return events.Event{}, false, err
	}
	return ev.event(), true, nil
}

func (e *eventOutput) event() events.Event {
	return events.Event{ID: e.ID, Name: e.Name, Data: e.Data, TS: e.TS}
}

// WakeTx matches the events just stored in tx (eventIDs: those whose name
// an open wait is waiting for) against the open waits, and makes the jobs
// whose wait matched available now, all in tx: if tx rolls back, no wait is
// matched and no job woken. The outbox's router (fn.Registry.Queue) calls
// it with the events whose insert (db.FnPublish or db.EventInsertMany)
// found an open wait for their name; the look
// for waits must be made that way, in the statement that inserts the
// events, for a wait registered meanwhile to see them (WaitForEvent waits
// for the transactions that hold a lock on events). The events are matched
// field by field.
func WakeTx(ctx context.Context, tx pgx.Tx, eventIDs []string) error {
	if len(eventIDs) == 0 {
		return nil
	}
	q := db.New(tx)
	jobIDs, err := q.FlowWaitMatch(ctx, eventIDs)
	if err != nil {
		return fmt.Errorf("match waiting jobs: %w", err)
	}
	if len(jobIDs) == 0 {
		return nil
	}
	if err := q.FlowWakeJobs(ctx, jobIDs); err != nil {
		return fmt.Errorf("wake waiting jobs: %w", err)
	}
	return nil
}
