// Command bench measures MohallaMart's job platform end to end against its
// performance targets and writes bench/results.md and bench/results.json.
//
//	go run ./bench [-quick] [-only REGEXP] [-repeats N] [-out DIR] [-strict]
//
// It runs against BENCH_DATABASE_URL (a server where it may CREATE
// DATABASE) or, when that is unset, a private PostgreSQL cluster in a
// temporary directory (internal/pgcluster). Every repeat of every scenario
// gets a fresh migrated database. Scenarios that need the HTTP server build
// cmd/server and run it as a child process on 127.0.0.1 with the user's
// environment, so server tuning variables (QUEUE_WORKERS, DB_MAX_CONNS, ...)
// set in the shell are measured too; outside services are fakes on
// 127.0.0.1.
//
// Each scenario runs -repeats times (default 3) and reports min / median /
// max of each figure, its ratio to a baseline measured in the same run and
// its target. A figure that misses its target is reported as FAIL; the
// program still exits 0 after writing the results, unless -strict is given
// (then 1). It exits 2 when it cannot run at all (no PostgreSQL, the server
// does not build, an interrupt).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"time"

	"github.com/mohallamart/backend/internal/testserver"
)

func main() {
	// A closed output pipe (| head) stops the run like an interrupt, so the
	// servers and the private cluster are still cleaned up.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	failed, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	quick        bool
	only         *regexp.Regexp
	repeats      int
	out          string
	strict       bool
	drainTimeout time.Duration
	keepLogs     bool
	verbose      bool
	profile      bool
	idleWait     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.BoolVar(&o.quick, "quick", false, "short loads (about a minute in all), still -repeats repeats; figures are indicative only")
	only := fs.String("only", "", "run only the scenarios whose name matches this regexp (and those they need)")
	fs.IntVar(&o.repeats, "repeats", 3, "repeats of each scenario")
	fs.StringVar(&o.out, "out", "bench", "directory for results.md and results.json")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a figure misses its target")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 0, "how long to wait for a job backlog to drain before failing (default 5m, quick 10s)")
	fs.BoolVar(&o.keepLogs, "keep-logs", false, "keep the server logs (printed path) instead of removing them")
	fs.BoolVar(&o.verbose, "v", false, "report each step of each repeat")
	fs.DurationVar(&o.idleWait, "idle-wait", 3*time.Minute, "how long to wait, before measuring, for the 1-minute load average to fall to 1.0 (above it the figures are not judged)")
	fs.BoolVar(&o.profile, "profile", false, "write, per scenario, CPU profiles of the servers and of bench and a pg_stat_statements top-10, in <out>/profiles")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.repeats < 1 {
		return o, errors.New("-repeats must be at least 1")
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		return o, fmt.Errorf("-only: %w", err)
	}
	o.only = re
	return o, nil
}

// run is the whole program. It reports whether -strict asks for a failing
// exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (bool, error) {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return false, err
	}
	p := newPlan(opts.quick, opts.repeats)
	if opts.drainTimeout > 0 {
		p.DrainTimeout = opts.drainTimeout
	}
	all := scenarios(p)
	selected := selectScenarios(all, opts.only)
	if len(selected) == 0 {
		return false, fmt.Errorf("-only %q matches no scenario (have: %s)", opts.only, scenarioNames(all))
	}

	begin := time.Now()
	progress := func(format string, a ...any) {
		fmt.Fprintf(stderr, "[%5.1fs] %s\n", time.Since(begin).Seconds(), fmt.Sprintf(format, a...))
	}
	// The server is built from this module (package testserver).
	if _, err := moduleRoot(); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp("", "mohallamart-bench-")
	if err != nil {
		return false, fmt.Errorf("create temporary directory: %w", err)
	}
	b := &bench{plan: p, res: newResults(), logDir: tmp, progress: progress, serverEnv: serverEnvironment(os.Environ())}
	b.step = func(string, ...any) {}
	if opts.verbose {
		b.step = func(format string, a ...any) { progress("  "+format, a...) }
	}
	defer func() {
		if opts.keepLogs || b.keepLogs {
			progress("Server logs kept in %s", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()

	// Build the server while PostgreSQL starts.
	built := make(chan error, 1)
	if slices.ContainsFunc(selected, func(s *scenario) bool { return s.server }) {
		progress("Building cmd/server")
		go func() {
			var err error
			b.serverBin, err = testserver.Build(ctx, tmp)
			built <- err
		}()
	} else {
		built <- nil
	}
	progress("Preparing PostgreSQL")
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b.dbs, err = openDatabases(ctx, quiet, opts.profile)
	if err != nil {
		<-built
		return false, err
	}
	defer b.dbs.close(ctx)
	if err := <-built; err != nil {
		return false, err
	}

	if opts.profile {
		// Absolute: the servers, which write their own profiles, run in
		// another directory.
		dir, err := filepath.Abs(filepath.Join(opts.out, "profiles"))
		if err != nil {
			return false, fmt.Errorf("-profile: %w", err)
		}
		b.prof = &profiler{dir: dir, dbs: b.dbs, serverBin: b.serverBin}
	}
	// The builds above (and go run's own) raise the load average: give it
	// time to fall back before the first measurement.
	if load, settled := waitForIdle(ctx, opts.idleWait, progress); !settled {
		progress("The load average is still %.2f (above %.1f): other work is running, so the figures will be marked %q, not judged",
			load, maxJudgedLoad, statusBusy)
	}
	info, err := collectRunInfo(ctx, b, opts, selected)
	if err != nil {
		return false, err
	}
	for _, s := range selected {
		b.runScenario(ctx, s)
		if ctx.Err() != nil {
			return false, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	info.Duration = time.Since(begin).Round(time.Second).String()
	info.LoadEnd = loadAverage()
	figures := b.res.finish(info.busy())
	rep := report{Info: info, Scenarios: describeScenarios(selected), Figures: figures}
	if err := rep.write(opts.out); err != nil {
		return false, err
	}
	fmt.Fprint(stdout, rep.table())
	progress("Wrote %s and %s", filepath.Join(opts.out, "results.md"), filepath.Join(opts.out, "results.json"))
	return opts.strict && rep.anyFailed(), nil
}

// selectScenarios returns the scenarios whose name (or a name they cover)
// matches re, plus the scenarios they need, in the order of all.
func selectScenarios(all []*scenario, re *regexp.Regexp) []*scenario {
	want := map[string]bool{}
	var add func(s *scenario)
	add = func(s *scenario) {
		if want[s.name] {
			return
		}
		want[s.name] = true
		for _, n := range s.needs {
			for _, d := range all {
				if d.name == n {
					add(d)
				}
			}
		}
	}
	for _, s := range all {
		if re.MatchString(s.name) || slices.ContainsFunc(s.covers, re.MatchString) {
			add(s)
		}
	}
	var out []*scenario
	for _, s := range all {
		if want[s.name] {
			out = append(out, s)
		}
	}
	return out
}

func scenarioNames(all []*scenario) string {
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.name
	}
	return fmt.Sprintf("%q", names)
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory; run from the repository")
		}
		dir = parent
	}
}
