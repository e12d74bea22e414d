package control

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
)

// PauseRequest names the function to pause.
type PauseRequest struct {
	// Function is the function's id, such as "send-order-update".
	// Required.
	Function string `json:"function"`
	// By says who paused it (the admin user, or the CLI's OS user), for
	// the list of paused functions.
	By string `json:"-"`
	// DryRun counts the runs the pause would hold now, and changes nothing.
	DryRun bool `json:"dryRun"`
}

// PauseResult is what a pause did (or, dry, would do).
type PauseResult struct {
	Function string `json:"function"`
	DryRun   bool   `json:"dryRun"`
	// AlreadyPaused: the function was paused before this request (pausing
	// again changes nothing but holds its runs that were ready).
	AlreadyPaused bool `json:"alreadyPaused"`
	// Held is how many of its runs ready to start were held (dry: would
	// be). Its later runs are held when River fetches them.
	Held int `json:"held"`
}

// Pause pauses a function: its runs are held, not run, until Resume, by
// every process. Pausing a paused function holds its runs that are ready
// and changes nothing else.
func (s *Service) Pause(ctx context.Context, req PauseRequest) (PauseResult, error) {
	f, err := s.function("function", req.Function)
	if err != nil {
		return PauseResult{}, err
	}
	res := PauseResult{Function: f.ID(), DryRun: req.DryRun}
	if req.DryRun {
		row, err := db.New(s.db).ControlPauseCount(ctx, db.ControlPauseCountParams{Function: f.ID(), Kind: f.Kind()})
		if err != nil {
			return res, fmt.Errorf("pause %s (dry run): %w", f.ID(), err)
		}
		res.AlreadyPaused, res.Held = row.Paused, int(row.Available)
		return res, nil
	}
	row, err := db.New(s.db).ControlPause(ctx, db.ControlPauseParams{Function: f.ID(), PausedBy: req.By, Kind: f.Kind()})
	if err != nil {
		return res, fmt.Errorf("pause %s: %w", f.ID(), err)
	}
	res.AlreadyPaused, res.Held = !row.Paused, int(row.Held)
	return res, nil
}

// ResumeRequest names the function to resume.
type ResumeRequest struct {
	// Function is the function's id. Required.
	Function string `json:"function"`
	// DryRun counts the runs the resume would release, and changes nothing.
	DryRun bool `json:"dryRun"`
}

// ResumeResult is what a resume did (or, dry, would do).
type ResumeResult struct {
	Function string `json:"function"`
	DryRun   bool   `json:"dryRun"`
	// WasPaused: the function was paused (resuming one that is not changes
	// nothing but releases runs it holds).
	WasPaused bool `json:"wasPaused"`
	// Released is how many held runs were made available or scheduled
	// again (dry: would be).
	Released int `json:"released"`
}

// Resume resumes a paused function: its held runs are available again (or
// scheduled, when their time is still to come), in their order, and its
// new runs run.
func (s *Service) Resume(ctx context.Context, req ResumeRequest) (ResumeResult, error) {
	f, err := s.function("function", req.Function)
	if err != nil {
		return ResumeResult{}, err
	}
	res := ResumeResult{Function: f.ID(), DryRun: req.DryRun}
	if req.DryRun {
		q := db.New(s.db)
		row, err := q.ControlPauseCount(ctx, db.ControlPauseCountParams{Function: f.ID(), Kind: f.Kind()})
		if err != nil {
			return res, fmt.Errorf("resume %s (dry run): %w", f.ID(), err)
		}
		held, err := q.ControlHeldCount(ctx, f.Kind())
		if err != nil {
			return res, fmt.Errorf("resume %s (dry run): %w", f.ID(), err)
		}
		res.WasPaused, res.Released = row.Paused, int(held)
		return res, nil
	}
	// Two statements: the second reads anew after the first, which waits
	// for any run holding itself meanwhile, so it releases that run too.
	err = db.InTx(ctx, s.db, func(tx pgx.Tx) error {
		q := db.New(tx)
		n, err := q.ControlUnpause(ctx, f.ID())
		if err != nil {
			return err
		}
		res.WasPaused = n > 0
		released, err := q.ControlRelease(ctx, f.Kind())
		res.Released = int(released)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("resume %s: %w", f.ID(), err)
	}
	return res, nil
}

// PausedFunction is a function that is paused.
type PausedFunction struct {
	Function string    `json:"function"`
	PausedAt time.Time `json:"pausedAt"`
	PausedBy string    `json:"pausedBy"`
	// Held is how many of its runs are held.
	Held int `json:"held"`
}

// Paused lists the paused functions, oldest pause first.
func (s *Service) Paused(ctx context.Context) ([]PausedFunction, error) {
	var p db.ControlPausedListParams
	for _, f := range s.reg.Functions() {
		p.Functions, p.Kinds = append(p.Functions, f.ID()), append(p.Kinds, f.Kind())
	}
	rows, err := db.New(s.db).ControlPausedList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list paused functions: %w", err)
	}
	out := make([]PausedFunction, len(rows))
	for i, r := range rows {
		out[i] = PausedFunction{Function: r.Function, PausedAt: r.PausedAt, PausedBy: r.PausedBy, Held: int(r.Held)}
	}
	return out, nil
}

// IsPaused reports whether the function whose id is id is paused.
func (s *Service) IsPaused(ctx context.Context, id string) (bool, error) {
	f, err := s.function("function", id)
	if err != nil {
		return false, err
	}
	row, err := db.New(s.db).ControlPauseCount(ctx, db.ControlPauseCountParams{Function: f.ID(), Kind: f.Kind()})
	if err != nil {
		return false, fmt.Errorf("is %s paused: %w", id, err)
	}
	return row.Paused, nil
}
