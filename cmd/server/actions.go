package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/internal/progress"
	"github.com/mohallamart/backend/replay"
)

var (
	errFunctionsUsage = errors.New("usage: server functions pause|resume ID [--dry-run] | server functions paused")
	errRunsUsage      = errors.New("usage: server runs cancel --function ID [--since T] [--until T] [--match data.F=V] [--reason R] [--dry-run] | " +
		"server runs retry --function ID --since T [--until T] [--match data.F=V] [--error-like S] [--dry-run]")
)

// functionsCmd runs `server functions pause|resume|paused`.
func functionsCmd(ctx context.Context, cfg Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errFunctionsUsage
	}
	fs := flag.NewFlagSet("functions "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	dry := fs.Bool("dry-run", false, "count the runs it would hold or release, change nothing")
	switch args[0] {
	case "paused":
		if len(args) != 1 {
			return errFunctionsUsage
		}
		return withControl(ctx, cfg, logger, func(s *control.Service) error {
			paused, err := s.Paused(ctx)
			if err != nil {
				return err
			}
			printPaused(out, paused)
			return nil
		})
	case "pause", "resume":
		// The id first, then flags (or flags first).
		rest := args[1:]
		id := ""
		if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
			id, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if id == "" && fs.NArg() == 1 {
			id = fs.Arg(0)
		} else if fs.NArg() != 0 {
			return errFunctionsUsage
		}
		if id == "" {
			return errFunctionsUsage
		}
		return withControl(ctx, cfg, logger, func(s *control.Service) error {
			if args[0] == "pause" {
				res, err := s.Pause(ctx, control.PauseRequest{Function: id, By: cliUser(), DryRun: *dry})
				if err != nil {
					return err
				}
				printPause(out, res)
				return nil
			}
			res, err := s.Resume(ctx, control.ResumeRequest{Function: id, DryRun: *dry})
			if err != nil {
				return err
			}
			printResume(out, res)
			return nil
		})
	default:
		return errFunctionsUsage
	}
}

// runsCmd runs `server runs cancel|retry`.
func runsCmd(ctx context.Context, cfg Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errRunsUsage
	}
	fs := flag.NewFlagSet("runs "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	function := fs.String("function", "", "the function's id, such as send-order-update (required)")
	switch args[0] {
	case "cancel":
		since := fs.String("since", "", "runs enqueued at or after this time: RFC 3339, a date (2006-01-02) or a duration ago (24h)")
		until := fs.String("until", "", "runs enqueued before this time (default now)")
		match := fs.String("match", "", "only runs whose event has this value at a field of its data: data.FIELD=VALUE")
		reason := fs.String("reason", "", "recorded as each cancelled run's last error")
		dry := fs.Bool("dry-run", false, "count the runs, cancel none")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 || *function == "" {
			return errRunsUsage
		}
		req := control.CancelRequest{Function: *function, Match: *match, Reason: *reason, DryRun: *dry}
		if err := parseRange(&req.Since, &req.Until, *since, *until); err != nil {
			return err
		}
		return withControl(ctx, cfg, logger, func(s *control.Service) error {
			bar := progress.New(out, "runs", progress.IsTerminal(out))
			res, err := s.Cancel(ctx, req, bar.Report)
			bar.Finish()
			if err != nil {
				return err
			}
			printCancel(out, res)
			return nil
		})
	case "retry":
		since := fs.String("since", "", "runs that failed at or after this time: RFC 3339, a date (2006-01-02) or a duration ago (24h) (required)")
		req := replay.RetryRequest{}
		until, match := retryFlags(fs, &req)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 || *function == "" || *since == "" {
			return errRunsUsage
		}
		req.Function, req.Match = *function, *match
		if err := parseRange(&req.Since, &req.Until, *since, *until); err != nil {
			return err
		}
		return retry(ctx, cfg, logger, req, req.Function, out)
	default:
		return errRunsUsage
	}
}

// retryFlags adds the flags a retry shares (until, match, error-like,
// dry-run) to fs; ErrorLike and DryRun go to req, until and match are
// returned.
func retryFlags(fs *flag.FlagSet, req *replay.RetryRequest) (until, match *string) {
	until = fs.String("until", "", "runs that failed before this time (default now)")
	match = fs.String("match", "", "only runs whose event has this value at a field of its data: data.FIELD=VALUE")
	fs.StringVar(&req.ErrorLike, "error-like", "", "only runs whose last error contains this (any case)")
	fs.BoolVar(&req.DryRun, "dry-run", false, "count the runs, retry none")
	return until, match
}

// retry runs a bulk retry and says what it did, naming what as what it
// retried.
func retry(ctx context.Context, cfg Config, logger *slog.Logger, req replay.RetryRequest, what string, out io.Writer) error {
	return withControl(ctx, cfg, logger, func(s *control.Service) error {
		bar := progress.New(out, "jobs", progress.IsTerminal(out))
		res, err := s.Retry(ctx, req, bar.Report)
		bar.Finish()
		if err != nil {
			return err
		}
		if res.DryRun {
			fmt.Fprintf(out, "Would retry %d %s jobs. Dry run: nothing was changed.\n", res.Matched, what)
		} else {
			fmt.Fprintf(out, "Retried %d %s jobs.\n", res.Retried, what)
		}
		return nil
	})
}

// parseRange reads the time flags since and until (each optional here)
// into from and to.
func parseRange(from, to *time.Time, since, until string) error {
	now := time.Now()
	var err error
	if since != "" {
		if *from, err = parseTime(since, now); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	if until != "" {
		if *to, err = parseTime(until, now); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	return nil
}

// cliUser is who pauses from the command line: cli:$USER.
func cliUser() string {
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func printPause(w io.Writer, res control.PauseResult) {
	switch {
	case res.DryRun:
		fmt.Fprintf(w, "Would pause %s and hold its %d runs ready to start. Dry run: nothing was changed.\n", res.Function, res.Held)
	case res.AlreadyPaused:
		fmt.Fprintf(w, "%s was paused already; held %d more runs.\n", res.Function, res.Held)
	default:
		fmt.Fprintf(w, "Paused %s: held %d runs; its new runs are held until `server functions resume %s`.\n", res.Function, res.Held, res.Function)
	}
}

func printResume(w io.Writer, res control.ResumeResult) {
	switch {
	case res.DryRun:
		fmt.Fprintf(w, "Would resume %s and release its %d held runs. Dry run: nothing was changed.\n", res.Function, res.Released)
	case !res.WasPaused:
		fmt.Fprintf(w, "%s was not paused; released %d held runs.\n", res.Function, res.Released)
	default:
		fmt.Fprintf(w, "Resumed %s: released %d held runs.\n", res.Function, res.Released)
	}
}

func printCancel(w io.Writer, res control.CancelResult) {
	if res.DryRun {
		fmt.Fprintf(w, "Would cancel %d %s runs (%d queued, %d running). Dry run: nothing was changed.\n", res.Matched, res.Function, res.Queued, res.Running)
		return
	}
	fmt.Fprintf(w, "Cancelled %d queued %s runs; asked %d running ones to stop.\n", res.Cancelled, res.Function, res.Stopped)
}

// printPaused lists the paused functions as a table.
func printPaused(w io.Writer, paused []control.PausedFunction) {
	if len(paused) == 0 {
		fmt.Fprintln(w, "No paused functions.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tHELD\tPAUSED AT\tPAUSED BY")
	for _, p := range paused {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", p.Function, p.Held, p.PausedAt.UTC().Format(time.RFC3339), p.PausedBy)
	}
	_ = tw.Flush()
}
