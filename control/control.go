// Package control is the operator's actions on functions and their runs:
// pause and resume a function, cancel runs by a filter, retry the runs
// that failed, and replay events. `server functions pause|resume`, `server
// runs cancel|retry`, `server events replay`, the POST /admin routes of
// httpapi and the console all call one Service, so the three front ends
// cannot differ; each action has a dry run that counts what it would
// change, which the console shows before it asks to confirm.
//
// It is a package of its own, not more of package replay, because replay
// re-runs work that happened once (it enqueues again), while pausing and
// cancelling stop work that has not happened yet; Replay and Retry here are
// replay's (Service.Replay and Service.Retry), so that a front end needs
// one Service and the retry of failed runs exists once.
//
// Pausing a function holds its new runs, never drops them, across every
// server process, with nothing added to the publish transaction: a paused
// function has a row in fn_paused; Pause moves its runs that are ready to
// start (River state available) to River's pending state, which River
// never fetches, in the transaction that inserts the row. A run of the
// function that River fetches later (enqueued since, a retry or a
// scheduled run coming due, or fetched while the pause committed) reads
// the row along with its event and recorded steps, in the read it starts
// with anyway, and moves itself to pending instead of running its handler
// (fn's worker; River's completer leaves a job it finds pending). A run
// that had already started when the pause committed finishes. Resume
// deletes the row and makes the held runs available again, in their
// order, or scheduled when their time is still to come.
package control

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/replay"
)

// DefaultBatchSize is how many runs one transaction of a bulk cancel
// cancels.
const DefaultBatchSize = 500

// Service performs the operator's actions.
type Service struct {
	db     db.DB
	river  *river.Client[pgx.Tx]
	reg    *fn.Registry
	replay *replay.Service
	// BatchSize is how many runs one transaction cancels (default
	// DefaultBatchSize).
	BatchSize int
}

// New returns a Service on d for reg's functions, which enqueues and
// cancels with client (an insert-only client will do: the workers of any
// process run what it enqueues or releases).
func New(d db.DB, client *river.Client[pgx.Tx], reg *fn.Registry) *Service {
	return &Service{db: d, river: client, reg: reg, replay: replay.New(d, client, reg), BatchSize: DefaultBatchSize}
}

// Replay enqueues again the functions of stored events: replay.Service's
// Replay.
func (s *Service) Replay(ctx context.Context, req replay.Request, progress replay.Progress) (replay.Result, error) {
	res, err := s.replay.Replay(ctx, req, progress)
	if err != nil {
		return res, fmt.Errorf("replay: %w", err)
	}
	return res, nil
}

// Retry makes the runs that failed for good (discarded or cancelled) that
// req selects available again: replay.Service's Retry.
func (s *Service) Retry(ctx context.Context, req replay.RetryRequest, progress replay.Progress) (replay.RetryResult, error) {
	res, err := s.replay.Retry(ctx, req, progress)
	if err != nil {
		return res, fmt.Errorf("retry: %w", err)
	}
	return res, nil
}

// Failed lists the failed runs, grouped: replay.Service's Failed.
func (s *Service) Failed(ctx context.Context, since time.Time, kind string) ([]replay.FailedGroup, error) {
	groups, err := s.replay.Failed(ctx, since, kind)
	if err != nil {
		return nil, fmt.Errorf("failed runs: %w", err)
	}
	return groups, nil
}

// function returns the function whose id is id, or an Invalid error naming
// field.
func (s *Service) function(field, id string) (*fn.Function, error) {
	if id == "" {
		return nil, invalid(field, "is required")
	}
	f := s.reg.Function(id)
	if f == nil {
		return nil, invalid(field, fmt.Sprintf("is %q, which is not a function", id))
	}
	return f, nil
}

// invalid is the error of a request whose field is wrong: a 400 naming it.
func invalid(field, msg string) error {
	return &apperr.Error{
		Code: apperr.Invalid, Message: "The request is invalid: " + field + " " + msg + ".",
		Details: []apperr.FieldError{{Field: field, Message: msg}},
	}
}

func (s *Service) batchSize() int {
	if s.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return s.BatchSize
}

// Functions returns the ids of the functions the actions apply to, sorted
// (for the console's choices).
func (s *Service) Functions() []string {
	ids := make([]string, 0, len(s.reg.Functions()))
	for _, f := range s.reg.Functions() {
		ids = append(ids, f.ID())
	}
	slices.Sort(ids)
	return ids
}
