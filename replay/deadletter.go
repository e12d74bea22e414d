package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
)

// FailedGroup is one group of dead letters: the jobs of one kind that
// failed for good with the same (normalised) last error.
type FailedGroup struct {
	Kind string `json:"kind"`
	// Error is the last error, trimmed, with UUIDs, ULIDs and numbers of
	// five or more digits replaced by <id>.
	Error string `json:"error"`
	// Jobs is Discarded (out of attempts) plus Cancelled (a permanent
	// failure, or cancelled by an event or an operator).
	Jobs      int `json:"jobs"`
	Discarded int `json:"discarded"`
	Cancelled int `json:"cancelled"`
	// FirstSeen and LastSeen are the oldest and newest finalized_at.
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// Failed lists the dead letters finalized since since, of kind (empty:
// every kind), grouped by kind and normalised last error, largest groups
// first.
func (s *Service) Failed(ctx context.Context, since time.Time, kind string) ([]FailedGroup, error) {
	rows, err := db.New(s.db).DeadLetterGroups(ctx, db.DeadLetterGroupsParams{Since: since, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("list failed jobs: %w", err)
	}
	out := make([]FailedGroup, len(rows))
	for i, r := range rows {
		out[i] = FailedGroup{
			Kind: r.Kind, Error: r.Error, Jobs: int(r.Jobs), Discarded: int(r.Discarded), Cancelled: int(r.Cancelled),
			FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		}
	}
	return out, nil
}

// RetryRequest selects the dead letters to retry.
type RetryRequest struct {
	// Kind is the job kind. Required.
	Kind string `json:"kind"`
	// Since bounds finalized_at from below. Required.
	Since time.Time `json:"since"`
	// ErrorLike, when set, keeps the jobs whose last error contains it
	// (any case; % and _ are LIKE wildcards).
	ErrorLike string `json:"errorLike"`
	// DryRun counts the jobs without retrying them.
	DryRun bool `json:"dryRun"`
}

// RetryResult is what a bulk retry did (or, dry, would do).
type RetryResult struct {
	DryRun bool `json:"dryRun"`
	// Matched is how many dead letters the request selected.
	Matched int `json:"matched"`
	// Retried is how many were made available again (0 when dry).
	Retried int `json:"retried"`
}

// Retry makes the dead letters req selects available again, in batches of
// BatchSize jobs, one transaction each, with River's JobRetryTx: the job
// keeps its attempts and errors, and River gives one more attempt to a job
// that used all of its own.
func (s *Service) Retry(ctx context.Context, req RetryRequest, progress Progress) (RetryResult, error) {
	if req.Kind == "" {
		return RetryResult{}, apperr.Errorf(apperr.Invalid, "retry: a job kind is required")
	}
	if req.Since.IsZero() {
		return RetryResult{}, apperr.Errorf(apperr.Invalid, "retry: since is required")
	}
	res := RetryResult{DryRun: req.DryRun}
	total, err := db.New(s.db).DeadLetterCount(ctx, db.DeadLetterCountParams{Kind: req.Kind, Since: req.Since, ErrorLike: req.ErrorLike})
	if err != nil {
		return res, fmt.Errorf("count failed jobs: %w", err)
	}
	page := db.DeadLetterPageParams{Kind: req.Kind, Since: req.Since, ErrorLike: req.ErrorLike, MaxRows: int32(s.batchSize())} //nolint:gosec // small
	for {
		var n int
		err := s.inTx(ctx, req.DryRun, func(tx pgx.Tx) error {
			ids, err := db.New(tx).DeadLetterPage(ctx, page)
			if err != nil {
				return fmt.Errorf("read failed jobs: %w", err)
			}
			n = len(ids)
			if n == 0 {
				return nil
			}
			page.AfterID = ids[n-1]
			if req.DryRun {
				return nil
			}
			for _, id := range ids {
				if _, err := s.river.JobRetryTx(ctx, tx, id); err != nil {
					return fmt.Errorf("retry job %d: %w", id, err)
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Matched += n
		if !req.DryRun {
			res.Retried += n
		}
		if n > 0 && progress != nil {
			progress(res.Matched, max(int(total), res.Matched))
		}
		if n < s.batchSize() {
			break
		}
	}
	return res, nil
}
