package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/internal/progress"
	"github.com/mohallamart/backend/replay"
)

var (
	errEventsUsage = errors.New("usage: server events replay --name N --since T [--until T] [--function ID] [--dry-run]")
	errJobsUsage   = errors.New("usage: server jobs failed [--since T] [--kind KIND] | server jobs retry --kind KIND --since T [--until T] [--error-like S] [--match data.F=V] [--dry-run]")
)

// withControl connects like `server seed` (DATABASE_URL, or the private
// cluster, left running when `make run` has it) and calls fn with the
// operator's actions (package control) on an insert-only River client:
// the server's workers do the jobs.
func withControl(ctx context.Context, cfg Config, logger *slog.Logger, fn func(*control.Service) error) error {
	d, err := openDatabase(ctx, cfg, logger, 4, shareCluster)
	if err != nil {
		return err
	}
	defer d.Close()
	client, err := river.NewClient(riverpgxv5.New(d.pool), &river.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("create River client: %w", err)
	}
	reg, err := registry(cfg, d.pool, logger)
	if err != nil {
		return err
	}
	return fn(control.New(d.pool, client, reg))
}

// eventsCmd runs `server events replay`.
func eventsCmd(ctx context.Context, cfg Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		return errEventsUsage
	}
	fs := flag.NewFlagSet("events replay", flag.ContinueOnError)
	fs.SetOutput(out)
	var req replay.Request
	fs.StringVar(&req.Name, "name", "", "event name, such as order/created (required)")
	since := fs.String("since", "", "replay events received at or after this time: RFC 3339, a date (2006-01-02) or a duration ago (24h) (required)")
	until := fs.String("until", "", "replay events received before this time (default now)")
	fs.StringVar(&req.Function, "function", "", "replay only this function (its id, or River kind); "+replay.AnalyticsFunction+" re-queues only analytics")
	fs.BoolVar(&req.DryRun, "dry-run", false, "count what would be enqueued, write nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 || req.Name == "" || *since == "" {
		return errEventsUsage
	}
	now := time.Now()
	var err error
	if req.Since, err = parseTime(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if *until != "" {
		if req.Until, err = parseTime(*until, now); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	return withControl(ctx, cfg, logger, func(s *control.Service) error {
		bar := progress.New(out, "events", progress.IsTerminal(out))
		res, err := s.Replay(ctx, req, bar.Report)
		bar.Finish()
		if err != nil {
			return err
		}
		printReplay(out, req, res)
		return nil
	})
}

// printReplay tells what a replay did, per function.
func printReplay(w io.Writer, req replay.Request, res replay.Result) {
	verb := "enqueued"
	if res.DryRun {
		verb = "would enqueue"
	}
	fmt.Fprintf(w, "Replay %s: %d %s events", res.ReplayID, res.Events, req.Name)
	if req.Function != "" {
		fmt.Fprintf(w, ", function %s", req.Function)
	}
	fmt.Fprintln(w)
	kinds := maps.Clone(res.Enqueued)
	maps.Copy(kinds, res.Skipped)
	maps.Copy(kinds, res.Batched)
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(w, "  %-28s %s %d", k, verb, res.Enqueued[k])
		if n := res.Batched[k]; n > 0 {
			fmt.Fprintf(w, ", %d events into its batches", n)
		}
		if n := res.Skipped[k]; n > 0 {
			fmt.Fprintf(w, ", skipped %d (its singleton run is pending, or its idempotency key was used: the work is done or under way)", n)
		}
		fmt.Fprintln(w)
	}
	if res.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was written.")
	}
}

// jobsCmd runs `server jobs failed` and `server jobs retry`.
func jobsCmd(ctx context.Context, cfg Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errJobsUsage
	}
	fs := flag.NewFlagSet("jobs "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	kind := fs.String("kind", "", "job kind, such as send_order_confirmation")
	since := fs.String("since", "", "jobs finalized at or after this time: RFC 3339, a date (2006-01-02) or a duration ago (24h)")
	switch args[0] {
	case "failed":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return errJobsUsage
		}
		var from time.Time
		if *since != "" {
			var err error
			if from, err = parseTime(*since, time.Now()); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
		}
		return withControl(ctx, cfg, logger, func(s *control.Service) error {
			groups, err := s.Failed(ctx, from, *kind)
			if err != nil {
				return err
			}
			printFailed(out, groups)
			return nil
		})
	case "retry":
		req := replay.RetryRequest{}
		until, match := retryFlags(fs, &req)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 || *kind == "" || *since == "" {
			return errJobsUsage
		}
		req.Kind, req.Match = *kind, *match
		if err := parseRange(&req.Since, &req.Until, *since, *until); err != nil {
			return err
		}
		return retry(ctx, cfg, logger, req, req.Kind, out)
	default:
		return errJobsUsage
	}
}

// printFailed lists dead letter groups as a table.
func printFailed(w io.Writer, groups []replay.FailedGroup) {
	if len(groups) == 0 {
		fmt.Fprintln(w, "No failed jobs.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tJOBS\tDISCARDED\tCANCELLED\tFIRST SEEN\tLAST SEEN\tERROR")
	for _, g := range groups {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\n", g.Kind, g.Jobs, g.Discarded, g.Cancelled,
			g.FirstSeen.UTC().Format(time.RFC3339), g.LastSeen.UTC().Format(time.RFC3339), oneLine(g.Error))
	}
	_ = tw.Flush()
}

// oneLine keeps an error's first line, at most 120 characters.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	return s
}

// parseTime reads a time flag: RFC 3339, a date (midnight UTC), or a
// duration meaning that long before now.
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want RFC 3339 (2026-11-30T18:00:00Z), a date (2026-11-30) or a duration ago (24h)", s)
}
