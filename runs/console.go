package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/internal/redact"
)

// eventLimit is how many events a page of the console lists.
const eventLimit = 100

// Event is an event as the console lists it, with the runs it caused.
type Event struct {
	ID         string
	Name       string
	TS         time.Time
	ReceivedAt time.Time
	// Data is the event's data through the personal-data allow-list.
	Data json.RawMessage
	// Runs counts the event's runs by function and status.
	Runs []RunCount
}

// RunCount is how many runs of a function an event caused with a status.
type RunCount struct {
	Function, Status string
	Runs             int
}

// EventFilter selects events; every field is optional.
type EventFilter struct {
	// Name: events of this name.
	Name string
	// Since and Until: events received in [Since, Until).
	Since, Until time.Time
	// Entity: events about this entity ("order:<id>", ...).
	Entity string
	// IDs: these events (not read from a query).
	IDs []string
}

// ParseEventFilter reads an EventFilter from a query: name, since, until
// (RFC 3339) and entity. A value it cannot take is an Invalid error naming
// each such field.
func ParseEventFilter(q url.Values) (EventFilter, error) {
	f := EventFilter{Name: strings.TrimSpace(q.Get("name")), Entity: strings.TrimSpace(q.Get("entity"))}
	var bad []apperr.FieldError
	for _, p := range []struct {
		field string
		t     *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := strings.TrimSpace(q.Get(p.field))
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad = append(bad, apperr.FieldError{Field: p.field, Message: "must be an RFC 3339 time, such as 2026-11-30T18:00:00Z"})
		}
		*p.t = t
	}
	if f.Entity != "" {
		if _, err := ParseEntity(f.Entity); err != nil {
			bad = append(bad, entityError())
		}
	}
	if len(bad) > 0 {
		return EventFilter{}, &apperr.Error{Code: apperr.Invalid, Message: "The event filter is invalid.", Details: bad}
	}
	return f, nil
}

// Events returns the newest events f selects (at most eventLimit), each
// with its runs counted by function and status.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]*Event, error) {
	params := db.RunEventListParams{MaxRows: eventLimit, IDs: f.IDs}
	if f.Name != "" {
		params.Name = &f.Name
	}
	if !f.Since.IsZero() {
		params.Since = &f.Since
	}
	if !f.Until.IsZero() {
		params.Until = &f.Until
	}
	if f.Entity != "" {
		ids, err := s.EntityEvents(ctx, f.Entity)
		if err != nil {
			return nil, err
		}
		if f.IDs != nil {
			ids = slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(f.IDs, id) })
		}
		if len(ids) == 0 {
			return []*Event{}, nil
		}
		params.IDs = ids
	}
	q := db.New(s.db)
	rows, err := q.RunEventList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := make([]*Event, len(rows))
	byID := make(map[string]*Event, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		out[i] = &Event{ID: r.ID, Name: r.Name, TS: r.Ts, ReceivedAt: r.ReceivedAt, Data: redact.JSON(r.Data)}
		byID[r.ID], ids[i] = out[i], r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	counts, err := q.RunCountsByEvent(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("count the events' runs: %w", err)
	}
	took, err := s.tookEvents(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, t := range took {
		counts = append(counts, &db.RunCountsByEventRow{EventID: t.EventID, Kind: t.Kind, Status: t.Status, Runs: 1})
	}
	for _, c := range counts {
		name := strings.ReplaceAll(c.Kind, "_", "-")
		if f := s.byKind[c.Kind]; f != nil {
			name = f.ID()
		}
		e := byID[c.EventID]
		if i := slices.IndexFunc(e.Runs, func(r RunCount) bool { return r.Function == name && r.Status == c.Status }); i >= 0 {
			e.Runs[i].Runs += int(c.Runs)
			continue
		}
		e.Runs = append(e.Runs, RunCount{Function: name, Status: c.Status, Runs: int(c.Runs)})
	}
	for _, e := range out {
		slices.SortFunc(e.Runs, func(a, b RunCount) int {
			return strings.Compare(a.Function+" "+a.Status, b.Function+" "+b.Status)
		})
	}
	return out, nil
}

// Function is a declared function as the console shows it: its
// declaration and its runs over the last hour and day.
type Function struct {
	ID, Queue         string
	Version           int
	Triggers, Options string
	Hour, Day         Stats
}

// Stats are a function's runs enqueued in a period.
type Stats struct {
	// Runs, Failed (failed for good) and Finished (completed, failed or
	// cancelled) count them.
	Runs, Failed, Finished int
	// P50Ms and P99Ms are the percentiles of the finished runs' durations
	// (from the last attempt's start to the end), in milliseconds.
	P50Ms, P99Ms float64
}

// FailureRate is the share of the finished runs that failed (0 to 1).
func (s Stats) FailureRate() float64 {
	if s.Finished == 0 {
		return 0
	}
	return float64(s.Failed) / float64(s.Finished)
}

// FunctionStats returns every declared function with its runs over the
// hour and the day before now.
func (s *Service) FunctionStats(ctx context.Context, now time.Time) ([]*Function, error) {
	q := db.New(s.db)
	var out []*Function
	byKind := map[string]*Function{}
	for _, f := range s.Functions() {
		v := max(f.Options().Version, 1)
		strip := func(s string) string { return strings.ReplaceAll(s, "`", "") }
		x := &Function{ID: f.ID(), Queue: f.Queue(), Version: v, Triggers: strip(f.DescribeTriggers()), Options: strip(f.DescribeOptions())}
		out = append(out, x)
		byKind[f.Kind()] = x
	}
	for _, p := range []struct {
		since time.Time
		set   func(*Function, Stats)
	}{
		{now.Add(-time.Hour), func(f *Function, s Stats) { f.Hour = s }},
		{now.Add(-24 * time.Hour), func(f *Function, s Stats) { f.Day = s }},
	} {
		rows, err := q.RunFunctionStats(ctx, db.RunFunctionStatsParams{Kinds: s.kinds, Since: p.since})
		if err != nil {
			return nil, fmt.Errorf("function stats: %w", err)
		}
		for _, r := range rows {
			if f := byKind[r.Kind]; f != nil {
				p.set(f, Stats{Runs: int(r.Runs), Failed: int(r.Failed), Finished: int(r.Finished), P50Ms: r.P50Ms, P99Ms: r.P99Ms})
			}
		}
	}
	return out, nil
}
