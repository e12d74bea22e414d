package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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

// RetryRequest selects the dead letters (the runs that failed for good:
// discarded, or cancelled) to retry.
type RetryRequest struct {
	// Kind is the job kind, such as "send_order_confirmation"; Function
	// names it by the function's id instead ("send-order-confirmation").
	// One of them is required.
	Kind     string `json:"kind"`
	Function string `json:"function"`
	// Since and Until bound finalized_at (when the run failed): Since <= t
	// < Until. Since is required; a zero Until means now.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// ErrorLike, when set, keeps the jobs whose last error contains it
	// (any case; % and _ are LIKE wildcards).
	ErrorLike string `json:"errorLike"`
	// Match, when set, keeps the runs whose trigger event's data has a
	// value: "data.orderId=ord_123" (see ParseMatch).
	Match string `json:"match"`
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
	kind, err := s.KindOf(req.Kind, req.Function)
	if err != nil {
		return RetryResult{}, err
	}
	if req.Since.IsZero() {
		return RetryResult{}, invalid("since", "is required")
	}
	if req.Until.IsZero() {
		req.Until = time.Now()
	}
	if !req.Since.Before(req.Until) {
		return RetryResult{}, invalid("until", "must be after since")
	}
	m, err := ParseMatch("match", req.Match)
	if err != nil {
		return RetryResult{}, err
	}
	res := RetryResult{DryRun: req.DryRun}
	total, err := db.New(s.db).DeadLetterCount(ctx, db.DeadLetterCountParams{
		Kind: kind, Since: req.Since, Until: req.Until, ErrorLike: req.ErrorLike, MatchPath: m.PathOrEmpty(), MatchValue: m.Value,
	})
	if err != nil {
		return res, fmt.Errorf("count failed jobs: %w", err)
	}
	page := db.DeadLetterPageParams{
		Kind: kind, Since: req.Since, Until: req.Until, ErrorLike: req.ErrorLike, MatchPath: m.PathOrEmpty(), MatchValue: m.Value,
		MaxRows: int32(s.batchSize()), //nolint:gosec // small
	}
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

// KindOf is the River kind a request names: kind as it is, or the kind of
// the function whose id is function (which must be one); exactly one of
// them is required. A kind is taken as it is: a renamed function's old
// kind, or a function's onFailure runs (<kind>_on_failure), are kinds too.
func (s *Service) KindOf(kind, function string) (string, error) {
	switch {
	case kind == "" && function == "":
		return "", invalid("function", "is required")
	case kind != "" && function != "":
		return "", invalid("kind", "must not be given with function")
	case function != "":
		f := s.reg.Function(function)
		if f == nil {
			return "", invalid("function", fmt.Sprintf("is %q, which is not a function", function))
		}
		return f.Kind(), nil
	}
	return kind, nil
}
