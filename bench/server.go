package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mohallamart/backend/internal/testserver"
)

// serverSetting is what the harness does with one of the server's
// variables (serverSettings, generated from cmd/server's settings table:
// a new server variable needs no edit here).
type serverSetting struct {
	// deployment: where the server listens and stores, who may call it and
	// the outside services it calls. The harness always sets these itself
	// (or clears them), so that a variable left in the user's shell can
	// never send traffic beyond 127.0.0.1.
	deployment bool
	// tuning: passed on from the user's environment and listed in the
	// report as the server's tuning.
	tuning bool
}

// serverDefaults are set for the server unless the user's environment sets
// them: the per-key rate limit (200/s by default) would otherwise cap the
// load generator, which sends every request with one key; and the
// per-recipient limit of notification/send (10 an hour by default) would
// drop most of the scenarios' notifications, which go to a thousand
// recipients in turn; analytics batches go out a second after their first
// event (the server's default is 5 s), the cadence the analytics and
// slow-providers targets were set for. TestServerVariablesAreKnown checks
// that the server reads each.
var serverDefaults = map[string]string{ //nolint:gochecknoglobals // a constant table
	"RATE_LIMIT":             "0",
	"NOTIFICATIONS_PER_HOUR": "0",
	"ANALYTICS_BATCH_WAIT":   "1s",
}

// runtimeTuning are the Go runtime's variables the report lists with the
// server's tuning.
var runtimeTuning = []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT"} //nolint:gochecknoglobals // a constant list

// serverEnvironment returns the environment every server process starts
// with: the user's environment without the server's deployment variables,
// plus the harness defaults for what the user did not set.
func serverEnvironment(environ []string) []string {
	var out []string
	set := map[string]bool{}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if serverSettings[k].deployment {
			continue
		}
		set[k] = true
		out = append(out, kv)
	}
	for k, v := range serverDefaults {
		if !set[k] {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// tuningOf returns the tuning variables of env (KEY=value list) for the
// report: the server's tuning settings and the Go runtime's.
func tuningOf(env []string) map[string]string {
	out := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if serverSettings[k].tuning || slices.Contains(runtimeTuning, k) {
			out[k] = v
		}
	}
	return out
}

// serverProc is one running server process, its output also in a log
// file.
type serverProc struct {
	*testserver.Server
	logPath string
}

// serverOpts start a server.
type serverOpts struct {
	bin         string
	env         []string // from serverEnvironment
	databaseURL string
	eventKey    string
	apiKey      string
	extraEnv    map[string]string // fakes' URLs and keys
	logDir      string
	name        string // for the log file name
	role        string // ROLE: roleAll, roleAPI or roleWorker
}

// Server roles (ROLE): HTTP and workers, HTTP only (jobs are inserted and
// left), workers only.
const (
	roleAll    = "all"
	roleAPI    = "api"
	roleWorker = "worker"
)

// startServer starts the server (with o.role, development, migrating at
// start) on a port of 127.0.0.1 it picks, and waits until /readyz answers
// 200 (package testserver, which the tests use too).
func startServer(ctx context.Context, o serverOpts) (*serverProc, error) {
	env := slices.Clone(o.env)
	env = append(env,
		"ROLE="+o.role, "APP_ENV=development", "MIGRATE_ON_START=true",
		"ADDR=127.0.0.1:0",
		"DATABASE_URL="+o.databaseURL,
		"EVENT_KEYS="+o.eventKey,
		"API_KEYS="+o.apiKey,
	)
	for k, v := range o.extraEnv {
		env = append(env, k+"="+v)
	}
	logPath := filepath.Join(o.logDir, o.name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	// The server reads .env from its working directory for what the
	// environment leaves unset, such as the deployment variables cleared
	// above: it runs where no .env is.
	srv, err := testserver.New(testserver.Options{Bin: o.bin, Env: env, Output: logFile, Dir: o.logDir, Hung: time.Minute})
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	go func() {
		<-srv.Done()
		_ = logFile.Close()
	}()
	p := &serverProc{Server: srv, logPath: logPath}
	if err := srv.Ready(ctx); err != nil {
		p.Kill()
		return nil, fmt.Errorf("%w; log %s:\n%s", err, logPath, p.logTail(20))
	}
	return p, nil
}

// pid is the server's process id.
func (p *serverProc) pid() int { return p.Cmd.Process.Pid }

// stop sends SIGTERM and waits up to grace for the server to exit, then
// kills it. The database is thrown away after each run, so jobs a kill
// interrupts do not matter.
func (p *serverProc) stop(grace time.Duration) { _, _ = p.Stop(grace) }

// logTail returns the last n lines of the server's output.
func (p *serverProc) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Logs.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// rssSampler samples a process's resident set size (VmRSS) every interval
// and keeps the largest value seen.
type rssSampler struct {
	mu   sync.Mutex
	max  int64
	err  error
	stop chan struct{}
	done chan struct{}
}

// sampleRSS starts sampling pid's RSS until stop is called.
func sampleRSS(pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			rss, err := readRSS(pid)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			s.max = max(s.max, rss)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the largest RSS seen, in bytes.
func (s *rssSampler) finish() (int64, error) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max == 0 && s.err != nil {
		return 0, s.err
	}
	return s.max, nil
}

// readRSS reads VmRSS of pid from /proc/<pid>/status, in bytes.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("read RSS: %w", err)
				}
				return kb << 10, nil
			}
		}
	}
	return 0, errors.New("read RSS: no VmRSS line")
}
