package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Wait says which event a WaitForEvent step waits for: the first event named
// Event whose data has the top-level field Key at Value.
type Wait struct {
	// Event is the event's name, such as events.NameOrderUpdated.
	Event string
	// Key is a top-level field of the event's data, such as "orderId", and
	// Value the text it must hold (a number's or boolean's JSON text: "42").
	Key, Value string
	// Timeout is how long the step waits from its first run.
	Timeout time.Duration
	// If is a stand-in until the flow branch lands.
	If func(events.Event) bool
	// After, if set, is an event's id (usually the event that triggered the
	// job): events received after it match too, even those received before
	// the wait began, so nothing between the trigger and the wait is missed.
	// The After event itself never matches. Unset: events received from the
	// wait's first run on.
	After string
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
func WaitForEvent(ctx context.Context, name string, w Wait) (events.Event, bool, error) {
	r, done, err := begin(ctx, name)
	if err != nil {
		return events.Event{}, false, err
	}
	if done != nil {
		out, err := decode[waitOutput](name, done.Output)
		if err != nil || out.Event == nil {
			return events.Event{}, false, err
		}
		return out.Event.event(), true, nil
	}
	if w.Event == "" || w.Key == "" || w.Timeout <= 0 {
		return events.Event{}, false, fmt.Errorf("flow: step %q: a Wait needs an Event, a Key and a positive Timeout", name)
	}

	q := db.New(r.db)
	wait, err := q.FlowWaitGet(ctx, db.FlowWaitGetParams{JobID: r.jobID, Step: name})
	first := errors.Is(err, pgx.ErrNoRows)
	if first {
		wait, err = q.FlowWaitInsert(ctx, db.FlowWaitInsertParams{
			JobID: r.jobID, Step: name, EventName: w.Event, MatchKey: w.Key, MatchValue: w.Value,
			AfterEventID: w.After, Deadline: time.Now().Add(w.Timeout),
		})
	}
	if err != nil {
		return events.Event{}, false, fmt.Errorf("flow: step %q: register wait: %w", name, err)
	}
	if first {
		// The wait is committed: let the publishers of its event that may
		// not have seen it commit, so the first look below sees their events.
		if err := q.FlowWaitBarrier(ctx, w.Event); err != nil {
			return events.Event{}, false, fmt.Errorf("flow: step %q: wait for publishers in flight: %w", name, err)
		}
	}
	matched := wait.MatchedEventID
	timedOut := !time.Now().Before(wait.Deadline)
	if matched == nil && (first || timedOut) {
		// First look: events received since w.After, including those of
		// publishers that were in flight when the wait committed. Last look:
		// at the deadline, once more.
		ev, err := q.FlowWaitFindEvent(ctx, db.FlowWaitFindEventParams{
			EventName: wait.EventName, MatchKey: wait.MatchKey, MatchValue: wait.MatchValue,
			Since: wait.Since, AfterEventID: wait.AfterEventID,
		})
		switch {
		case err == nil:
			matched = &ev.ID
		case !errors.Is(err, pgx.ErrNoRows):
			return events.Event{}, false, fmt.Errorf("flow: step %q: find event: %w", name, err)
		}
	}
	if matched == nil && !timedOut {
		return events.Event{}, false, park(time.Until(wait.Deadline))
	}
	return finishWait(ctx, r, name, matched)
}

// finishWait records wait step name as finished with event eventID (nil: it
// timed out) and removes its wait, in one transaction.
func finishWait(ctx context.Context, r *run, name string, eventID *string) (events.Event, bool, error) {
	var out waitOutput
	err := db.InTx(ctx, r.db, func(tx pgx.Tx) error {
		q := db.New(tx)
		if eventID != nil {
			ev, err := q.EventGet(ctx, *eventID)
			if err != nil {
				return fmt.Errorf("flow: step %q: load event %s: %w", name, *eventID, err)
			}
			out.Event = &eventOutput{ID: ev.ID, Name: ev.Name, Data: ev.Data, TS: ev.Ts.UTC()}
		}
		raw, err := encode(name, out)
		if err != nil {
			return err
		}
		if err := r.writeIn(ctx, tx, record(name, raw, now())); err != nil {
			return err
		}
		if err := q.FlowWaitDelete(ctx, db.FlowWaitDeleteParams{JobID: r.jobID, Step: name}); err != nil {
			return fmt.Errorf("flow: step %q: remove wait: %w", name, err)
		}
		return nil
	})
	if err != nil || out.Event == nil {
		return events.Event{}, false, err
	}
	return out.Event.event(), true, nil
}

func (e *eventOutput) event() events.Event {
	return events.Event{ID: e.ID, Name: e.Name, Data: e.Data, TS: e.TS}
}

// WakeTx matches the events just stored in tx (their ids, and names[i]
// the name of ids[i]) against the open waits, and makes the jobs whose
// wait matched available now, all in tx: if tx rolls back, no wait is
// matched and no job woken. outbox.Publish calls it with the events it
// stores. It first asks which of the names an open wait is waiting for (one
// index probe per name), so a batch no wait cares about costs that one
// statement; the events of the names waited for are then matched field by
// field.
func WakeTx(ctx context.Context, tx pgx.Tx, ids, names []string) error {
	if len(ids) == 0 {
		return nil
	}
	q := db.New(tx)
	waited, err := q.FlowWaitedNames(ctx, names)
	if err != nil {
		return fmt.Errorf("match waiting jobs: %w", err)
	}
	if len(waited) == 0 {
		return nil
	}
	var eventIDs []string
	for i, id := range ids {
		if slices.Contains(waited, names[i]) {
			eventIDs = append(eventIDs, id)
		}
	}
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
