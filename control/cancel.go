package control

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/replay"
)

// CancelRequest selects the runs to cancel: the runs of one function,
// enqueued in a time range, not finalized (queued, held, sleeping, waiting
// or running), optionally those whose event has a value at a field.
type CancelRequest struct {
	// Function is the function's id. Required.
	Function string `json:"function"`
	// Since and Until bound when the runs were enqueued: Since <= t <
	// Until. A zero Since is no lower bound; a zero Until means now.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Match, when set, keeps the runs whose trigger event's data has a
	// value at a field: "data.orderId=ord_123" (see replay.ParseMatch).
	Match string `json:"match"`
	// Reason is recorded as the runs' last error (default "cancelled by
	// an operator").
	Reason string `json:"reason"`
	// DryRun counts the runs, and cancels none.
	DryRun bool `json:"dryRun"`
}

// CancelResult is what a bulk cancel did (or, dry, would do).
type CancelResult struct {
	Function string `json:"function"`
	DryRun   bool   `json:"dryRun"`
	// Matched is how many runs the request selected (Queued + Running).
	Matched int `json:"matched"`
	// Queued is how many of them had not started (or were parked, or
	// held); Cancelled how many of those were cancelled (0 when dry).
	Queued    int `json:"queued"`
	Cancelled int `json:"cancelled"`
	// Running is how many were running; River's JobCancel asked each to
	// stop (its worker's context is cancelled, in whichever process runs
	// it, and it ends cancelled). 0 asked when dry.
	Running int `json:"running"`
	Stopped int `json:"stopped"`
}

// defaultReason is a cancelled run's last error when the request gives
// none.
const defaultReason = "cancelled by an operator"

// Cancel cancels the runs req selects: the queued ones in batches of
// BatchSize, one transaction each; then each running one with River's
// JobCancel, in one transaction.
func (s *Service) Cancel(ctx context.Context, req CancelRequest, progress replay.Progress) (CancelResult, error) {
	f, err := s.function("function", req.Function)
	if err != nil {
		return CancelResult{}, err
	}
	if req.Until.IsZero() {
		req.Until = time.Now()
	}
	if !req.Since.Before(req.Until) {
		return CancelResult{}, invalid("until", "must be after since")
	}
	m, err := replay.ParseMatch("match", req.Match)
	if err != nil {
		return CancelResult{}, err
	}
	if req.Reason == "" {
		req.Reason = defaultReason
	}
	path := m.PathOrEmpty()
	res := CancelResult{Function: f.ID(), DryRun: req.DryRun}
	count, err := db.New(s.db).ControlRunCount(ctx, db.ControlRunCountParams{
		Kind: f.Kind(), Since: req.Since, Until: req.Until, MatchPath: path, MatchValue: m.Value,
	})
	if err != nil {
		return res, fmt.Errorf("cancel %s: count runs: %w", f.ID(), err)
	}
	res.Queued, res.Running = int(count.Queued), int(count.Running)
	res.Matched = res.Queued + res.Running
	if req.DryRun {
		return res, nil
	}
	batch := db.ControlCancelQueuedParams{
		Reason: req.Reason, Kind: f.Kind(), Since: req.Since, Until: req.Until, MatchPath: path, MatchValue: m.Value,
		MaxRows: int32(s.batchSize()), //nolint:gosec // small
	}
	for {
		n, err := db.New(s.db).ControlCancelQueued(ctx, batch)
		if err != nil {
			return res, fmt.Errorf("cancel %s: %w", f.ID(), err)
		}
		res.Cancelled += int(n)
		if n > 0 && progress != nil {
			progress(res.Cancelled, max(res.Matched, res.Cancelled))
		}
		if n < int64(s.batchSize()) {
			break
		}
	}
	err = db.InTx(ctx, s.db, func(tx pgx.Tx) error {
		ids, err := db.New(tx).ControlRunningIDs(ctx, db.ControlRunningIDsParams{
			Kind: f.Kind(), Since: req.Since, Until: req.Until, MatchPath: path, MatchValue: m.Value,
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := s.river.JobCancelTx(ctx, tx, id); err != nil {
				return fmt.Errorf("job %d: %w", id, err)
			}
		}
		res.Stopped = len(ids)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("cancel %s: stop running runs: %w", f.ID(), err)
	}
	if progress != nil {
		progress(res.Cancelled+res.Stopped, max(res.Matched, res.Cancelled+res.Stopped))
	}
	return res, nil
}
