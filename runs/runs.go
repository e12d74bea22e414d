// Package runs lists and describes function runs for operators: a run is
// one River job of a function declared with package fn, with the steps it
// recorded (package flow), the events that caused it, its errors and the
// lines it logged. It answers GET /admin/runs and the operator's console.
//
// A run's status is derived from River's state and its flow steps:
//
//	queued     not started (available or scheduled, no attempt yet)
//	paused     held because its function is paused (River's pending state)
//	running    an attempt is running, or the run waits for its next attempt
//	sleeping   parked by a sleep step until its wake time
//	waiting    parked by a wait step until a matching event (an open flow_waits row)
//	completed  finished
//	failed     failed for good (River's discarded)
//	cancelled  cancelled
//
// Step outputs and event data pass through the personal-data allow-list
// that analytics uses (redact.JSON), so the console shows ids, amounts and
// statuses, never an email address, name or phone number.
package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/redact"
)

// The statuses of a run.
const (
	StatusQueued    = "queued"
	StatusPaused    = "paused"
	StatusRunning   = "running"
	StatusSleeping  = "sleeping"
	StatusWaiting   = "waiting"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Statuses are the statuses of a run, in the order a run goes through them.
func Statuses() []string {
	return []string{StatusQueued, StatusPaused, StatusRunning, StatusSleeping, StatusWaiting, StatusCompleted, StatusFailed, StatusCancelled}
}

// Step statuses besides the run's: a step that was recorded is completed;
// the step named by the run's last error is failed.
const (
	StepCompleted = "completed"
	StepFailed    = "failed"
	StepSleeping  = "sleeping"
	StepWaiting   = "waiting"
)

// DefaultLimit and MaxLimit bound a page of runs.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// entityEventLimit bounds the events an entity filter takes (the newest).
const entityEventLimit = 1000

// Run is one run of a function, as GET /admin/runs answers it.
type Run struct {
	ID int64 `json:"id"`
	// Function is the declared id, such as send-order-confirmation.
	Function string `json:"function"`
	// Version is the function's version when the run was enqueued.
	Version int `json:"version"`
	// EventIDs are the events that caused the run: its trigger event, or
	// the events a debounced or batched run took (none for a scheduled
	// run).
	EventIDs []string `json:"eventIds"`
	Status   string   `json:"status"`
	// Attempt is River's attempt number (0 before the first).
	Attempt   int        `json:"attempt"`
	StartedAt *time.Time `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt"`
	// DurationMs is from StartedAt to EndedAt, once the run has ended.
	DurationMs *int64 `json:"durationMs"`
	Steps      []Step `json:"steps"`
	// Error is the last attempt's error, if it failed.
	Error *string `json:"error"`
	// Logs are the lines the run logged, attempt by attempt (bounded: see
	// LogMiddleware).
	Logs []string `json:"logs"`

	// CreatedAt is when the run was enqueued (not in the JSON: the cursor
	// and the console use it).
	CreatedAt time.Time `json:"-"`
}

// Step is one step of a run.
type Step struct {
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt"`
	// Output is the step's recorded output through the personal-data
	// allow-list (fields off it read "[hidden]").
	Output json.RawMessage `json:"output"`
	Error  *string         `json:"error"`
}

// DurationMs is the step's duration, when it has a start and an end.
func (s Step) DurationMs() *int64 {
	if s.StartedAt == nil || s.EndedAt == nil {
		return nil
	}
	ms := s.EndedAt.Sub(*s.StartedAt).Milliseconds()
	return &ms
}

// Page is a page of runs, newest first; Next is the cursor of the next
// page ("" on the last).
type Page struct {
	Runs []*Run `json:"runs"`
	Next string `json:"next"`
}

// Service reads runs from the database of River's jobs.
type Service struct {
	db     db.DB
	byKind map[string]*fn.Function
	byID   map[string]*fn.Function
	kinds  []string
}

// Functions is the set of declared functions: fn.Registry.
type Functions interface {
	Functions() []*fn.Function
}

// New returns the runs of the functions of reg, read from d.
func New(d db.DB, reg Functions) *Service {
	s := &Service{db: d, byKind: map[string]*fn.Function{}, byID: map[string]*fn.Function{}}
	for _, f := range reg.Functions() {
		s.byKind[f.Kind()], s.byID[f.ID()] = f, f
		s.kinds = append(s.kinds, f.Kind())
	}
	return s
}

// Functions returns the declared functions, sorted by id.
func (s *Service) Functions() []*fn.Function {
	out := make([]*fn.Function, 0, len(s.byID))
	for _, f := range s.byID {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *fn.Function) int { return strings.Compare(a.ID(), b.ID()) })
	return out
}

// ErrNotFound is the error of Get for a run that is not there.
var ErrNotFound = apperr.Errorf(apperr.NotFound, "No such run.")

// List returns a page of the runs f selects, newest first.
func (s *Service) List(ctx context.Context, f Filter) (*Page, error) {
	params := db.RunListParams{Kinds: s.kinds, MaxRows: int32(f.limit() + 1)}
	if f.Function != "" {
		params.Kinds = []string{s.byID[f.Function].Kind()}
	}
	if f.Status != "" {
		params.Status = &f.Status
	}
	if !f.Since.IsZero() {
		params.Since = &f.Since
	}
	if f.before > 0 {
		params.BeforeID = &f.before
	}
	if f.EventID != "" {
		params.EventIds = []string{f.EventID}
	}
	if f.Entity != "" {
		ids, err := s.EntityEvents(ctx, f.Entity)
		if err != nil {
			return nil, err
		}
		if f.EventID != "" && !slices.Contains(ids, f.EventID) {
			ids = nil
		} else if f.EventID != "" {
			ids = []string{f.EventID}
		}
		if len(ids) == 0 {
			return &Page{Runs: []*Run{}}, nil
		}
		params.EventIds = ids
	}
	if len(params.EventIds) > 0 {
		took, err := s.tookEvents(ctx, params.EventIds)
		if err != nil {
			return nil, err
		}
		for _, t := range took {
			params.JobIds = append(params.JobIds, t.JobID)
		}
	}
	rows, err := db.New(s.db).RunList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	page := &Page{Runs: []*Run{}}
	if len(rows) > f.limit() {
		rows = rows[:f.limit()]
		page.Next = fmt.Sprint(rows[len(rows)-1].ID)
	}
	if page.Runs, err = s.describe(ctx, rows); err != nil {
		return nil, err
	}
	return page, nil
}

// Get returns run id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (*Run, error) {
	rows, err := db.New(s.db).RunList(ctx, db.RunListParams{Kinds: s.kinds, ID: &id, MaxRows: 1})
	if err != nil {
		return nil, fmt.Errorf("get run %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	runs, err := s.describe(ctx, rows)
	if err != nil {
		return nil, err
	}
	return runs[0], nil
}

// describe turns job rows into runs, with their steps, waits and logs (one
// query each for all the rows).
func (s *Service) describe(ctx context.Context, rows []*db.RunListRow) ([]*Run, error) {
	out := make([]*Run, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	q := db.New(s.db)
	steps, err := q.RunSteps(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load run steps: %w", err)
	}
	waits, err := q.RunOpenWaits(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load run waits: %w", err)
	}
	logs, err := q.RunLogs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load run logs: %w", err)
	}
	byJob := map[int64]*Run{}
	var debounced []*Run
	debounceKeys := map[int64]string{}
	for _, row := range rows {
		r, key := s.run(row)
		byJob[r.ID] = r
		out = append(out, r)
		if r.Status == StatusQueued && len(r.EventIDs) == 0 && key != "" {
			debounced = append(debounced, r)
			debounceKeys[r.ID] = key
		}
	}
	now := time.Now()
	for _, st := range steps {
		r := byJob[st.JobID]
		step := Step{Name: st.Step, Status: StepCompleted, StartedAt: st.StartedAt, EndedAt: &st.CompletedAt, Output: redact.JSON(st.Output)}
		if st.CompletedAt.After(now) && r.Status == StatusSleeping {
			step.Status = StepSleeping
		}
		switch st.Step {
		case "$debounce", "$batch":
			var id string
			var many []string
			if json.Unmarshal(st.Output, &id) == nil && id != "" {
				r.EventIDs = append(r.EventIDs, id)
			} else if json.Unmarshal(st.Output, &many) == nil {
				r.EventIDs = append(r.EventIDs, many...)
			}
		}
		r.Steps = append(r.Steps, step)
	}
	for _, w := range waits {
		r := byJob[w.JobID]
		r.Steps = append(r.Steps, Step{Name: w.Step, Status: StepWaiting, StartedAt: &w.CreatedAt, Output: json.RawMessage("null")})
	}
	for _, l := range logs {
		r := byJob[l.JobID]
		r.Logs = append(r.Logs, l.Lines...)
		if l.Truncated > 0 {
			r.Logs = append(r.Logs, fmt.Sprintf("(attempt %d: %d more lines not kept)", l.Attempt, l.Truncated))
		}
	}
	for _, r := range out {
		r.finish()
	}
	if err := s.debouncedEvents(ctx, debounced, debounceKeys); err != nil {
		return nil, err
	}
	return out, nil
}

// run is a run of row without its steps, and the key of its args (for a
// debounced run's event).
func (s *Service) run(row *db.RunListRow) (*Run, string) {
	r := &Run{
		ID: row.ID, Status: row.Status, Attempt: int(row.Attempt), CreatedAt: row.CreatedAt,
		EventIDs: []string{}, Steps: []Step{}, Logs: []string{},
		EndedAt: row.FinalizedAt, StartedAt: row.AttemptedAt,
	}
	if f := s.byKind[row.Kind]; f != nil {
		r.Function = f.ID()
	} else {
		r.Function = strings.ReplaceAll(row.Kind, "_", "-")
	}
	var args struct {
		EventID string `json:"event_id"`
		Key     string `json:"key"`
		V       int    `json:"v"`
	}
	_ = json.Unmarshal(row.Args, &args) // args of another shape leave the fields empty
	r.Version = max(args.V, 1)
	if args.EventID != "" {
		r.EventIDs = append(r.EventIDs, args.EventID)
	}
	if n := len(row.Errors); n > 0 && (row.State != "completed") {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(row.Errors[n-1], &e) == nil && e.Error != "" {
			msg := redact.String(e.Error)
			r.Error = &msg
		}
	}
	return r, args.Key
}

// finish sets what follows from a run's steps: its start (the first
// step's, when before the last attempt's), duration, and the step its
// error names.
func (r *Run) finish() {
	for _, st := range r.Steps {
		if st.StartedAt != nil && (r.StartedAt == nil || st.StartedAt.Before(*r.StartedAt)) {
			t := *st.StartedAt
			r.StartedAt = &t
		}
	}
	if r.StartedAt != nil && r.EndedAt != nil {
		ms := r.EndedAt.Sub(*r.StartedAt).Milliseconds()
		r.DurationMs = &ms
	}
	if r.Error == nil || r.Status == StatusCompleted || r.Status == StatusCancelled && !strings.HasPrefix(*r.Error, "step ") {
		return
	}
	// flow wraps a step's error as "step NAME: ...".
	rest, ok := strings.CutPrefix(*r.Error, "step ")
	if !ok {
		return
	}
	for i := len(rest); i > 0; i-- {
		name := rest[:i]
		if !strings.HasPrefix(rest[i:], ": ") {
			continue
		}
		if slices.ContainsFunc(r.Steps, func(s Step) bool { return s.Name == name }) {
			return // recorded after all: a later attempt finished it
		}
		msg := rest[i+2:]
		r.Steps = append(r.Steps, Step{Name: name, Status: StepFailed, StartedAt: r.StartedAt, EndedAt: r.EndedAt, Output: json.RawMessage("null"), Error: &msg})
		return
	}
}

// debouncedEvents gives debounced runs not started yet the event they
// will take (fn_debounce).
func (s *Service) debouncedEvents(ctx context.Context, runs []*Run, keys map[int64]string) error {
	if len(runs) == 0 {
		return nil
	}
	var fns, ks []string
	for _, r := range runs {
		fns, ks = append(fns, r.Function), append(ks, keys[r.ID])
	}
	rows, err := db.New(s.db).RunDebounced(ctx, db.RunDebouncedParams{Functions: fns, Keys: ks})
	if err != nil {
		return fmt.Errorf("load debounced events: %w", err)
	}
	for _, r := range runs {
		for _, d := range rows {
			if d.Function == r.Function && d.Key == keys[r.ID] && d.EventID != "" {
				r.EventIDs = append(r.EventIDs, d.EventID)
			}
		}
	}
	return nil
}

// EntityEvents returns the ids of the newest events about entity
// ("order:<id>", "user:<id>", "product:<id>" or "shop:<id>"), at most
// entityEventLimit; none when there is no such entity. An entity that is
// not of that form is an Invalid error naming the field "entity".
func (s *Service) EntityEvents(ctx context.Context, entity string) ([]string, error) {
	e, err := ParseEntity(entity)
	if err != nil {
		return nil, err
	}
	q := db.New(s.db)
	created, err := q.RunEntityCreatedAt(ctx, db.RunEntityCreatedAtParams{Kind: e.Kind, EntityID: e.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", entity, err)
	}
	ids, err := q.RunEntityEvents(ctx, db.RunEntityEventsParams{
		Since: created.Add(-time.Minute), Field: e.field(), EntityID: e.ID, IndexType: e.indexType(), MaxRows: entityEventLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("find the events of %s: %w", entity, err)
	}
	return ids, nil
}

// unboundedDebounce is how far before an event RunTookEvents looks for the
// debounced run that took it when the function's debounce has no Timeout.
const unboundedDebounce = 24 * time.Hour

// tookEvents returns the debounced and batched runs that took any of ids
// (their args name no event). A run takes events received after it was
// enqueued, or before by at most its function's debounce or batch timeout,
// which bounds the scan.
func (s *Service) tookEvents(ctx context.Context, ids []string) ([]*db.RunTookEventsRow, error) {
	var kinds []string
	var window time.Duration
	for _, f := range s.byID {
		o := f.Options()
		switch {
		case o.Debounce != nil:
			w := o.Debounce.Timeout
			if w <= 0 {
				w = unboundedDebounce
			}
			window = max(window, w, o.Debounce.Period)
		case o.BatchEvents != nil:
			window = max(window, o.BatchEvents.Timeout)
		default:
			continue
		}
		kinds = append(kinds, f.Kind())
	}
	if len(kinds) == 0 {
		return nil, nil
	}
	q := db.New(s.db)
	first, err := q.RunEventsReceived(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find when the events were received: %w", err)
	}
	rows, err := q.RunTookEvents(ctx, db.RunTookEventsParams{EventIds: ids, Kinds: kinds, Since: first.Add(-window - time.Minute)})
	if err != nil {
		return nil, fmt.Errorf("find the debounced and batched runs of the events: %w", err)
	}
	return rows, nil
}
