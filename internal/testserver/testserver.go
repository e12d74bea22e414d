// Package testserver runs the server binary (cmd/server) for tests and the
// benchmarks: it builds the binary (once per test process), starts it with
// an environment on 127.0.0.1, waits until it is ready, captures its output
// and stops it (SIGTERM, then SIGKILL). Start, Launch, WaitReady and
// WaitLog fail a test; New and Ready return errors, for code outside go
// test (bench).
package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// HungAfter is how long Start, WaitLog and Stop wait by default: it only
// ends a hung server; a working one is done long before, however loaded
// the machine.
const HungAfter = 2 * time.Minute

// Package is the server's import path.
const Package = "github.com/mohallamart/backend/cmd/server"

// built is the binary built once per test process, in a directory Run
// removes. It is package state because the tests of a process share the
// binary.
var built struct { //nolint:gochecknoglobals
	once sync.Once
	dir  string
	path string
	err  error
}

// Run runs the tests with run (m.Run, dbtest.Run) and then removes the
// binary Binary built for them; it returns run's exit code.
func Run(m *testing.M, run func(*testing.M) int) int {
	code := run(m)
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	return code
}

// Version is the version Binary stamps into the server (main.version), as
// the Dockerfile stamps a release's: `server version` prints it.
const Version = "v9.8.7-test"

// Binary builds the server on the first call of the test process (into a
// directory Run removes), its version stamped Version, and returns its
// path.
func Binary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "mohallamart-server-")
		if err != nil {
			built.err = fmt.Errorf("directory for the server binary: %w", err)
			return
		}
		built.dir = dir
		built.path, built.err = Build(context.Background(), dir, "-ldflags", "-X main.version="+Version)
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}

// Build builds the server into dir with the go build flags given (e.g.
// "-ldflags", "-X main.version=v1") and returns the binary's path.
func Build(ctx context.Context, dir string, flags ...string) (string, error) {
	bin := filepath.Join(dir, "server")
	args := append(append([]string{"build"}, flags...), "-o", bin, Package)
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", Package, err, out)
	}
	return bin, nil
}

// Options start a server.
type Options struct {
	// Bin is the binary to run; Binary's when empty.
	Bin string
	// Args are its arguments; "serve" when empty.
	Args []string
	// Env is its whole environment. It should set ADDR to a port 0 of
	// 127.0.0.1 (the server logs the address it took).
	Env []string
	// Output, when set, gets the process's output too (Logs has it all);
	// the caller then shows it when a test fails.
	Output io.Writer
	// ReadyPath is the path polled until it answers 200 once the server
	// serves; "/readyz" when empty, "-" for none.
	ReadyPath string
	// Hung is how long to wait for the server to serve; HungAfter when 0.
	Hung time.Duration
	// Dir is the process's working directory (where it would read a .env);
	// the caller's when empty.
	Dir string
}

// Server is one server process.
type Server struct {
	// Base is http://host:port of the address the server logged.
	Base string
	// Cmd is the process.
	Cmd *exec.Cmd
	// Logs is its output.
	Logs *Buffer

	opts    Options
	done    chan struct{}
	waitErr error
	killed  bool
}

// servingRe finds the address in the server's "Serving" line (text or JSON
// logs).
var servingRe = regexp.MustCompile(`(?:msg=Serving addr=|"msg":"Serving","addr":")([^\s"]+)`) //nolint:gochecknoglobals // compiled once

// Start starts the server and waits until it serves and its ReadyPath
// answers 200. The test's cleanup kills a server still running and, when
// the test failed and no Output was given, logs its output.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := Launch(t, o)
	s.WaitReady(t)
	return s
}

// Launch starts the server without waiting for it (WaitReady waits). The
// test's cleanup kills it and, when the test failed and no Output was
// given, logs its output.
func Launch(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Bin == "" {
		o.Bin = Binary(t)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() && o.Output == nil {
			t.Logf("server output:\n%s", s.Logs.String())
		}
	})
	return s
}

// New starts the server o.Bin (which is required) without waiting for it
// (Ready waits); the caller stops or kills it.
func New(o Options) (*Server, error) {
	if o.Bin == "" {
		return nil, errors.New("testserver: Options.Bin is required")
	}
	if len(o.Args) == 0 {
		o.Args = []string{"serve"}
	}
	if o.Hung == 0 {
		o.Hung = HungAfter
	}
	s := &Server{Logs: &Buffer{}, opts: o, done: make(chan struct{})}
	s.Cmd = exec.Command(o.Bin, o.Args...) //nolint:gosec // the binary under test
	s.Cmd.Env = o.Env
	s.Cmd.Dir = o.Dir
	var out io.Writer = s.Logs
	if o.Output != nil {
		out = io.MultiWriter(s.Logs, o.Output)
	}
	s.Cmd.Stdout, s.Cmd.Stderr = out, out
	if err := s.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	go func() {
		s.waitErr = s.Cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// WaitReady waits until the server logs that it serves (setting Base) and
// its ReadyPath answers 200. It fails the test if the server exits first
// or hangs.
func (s *Server) WaitReady(t testing.TB) {
	t.Helper()
	if err := s.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Ready is WaitReady returning an error: the server exited first, hung
// (Options.Hung) or ctx ended.
func (s *Server) Ready(ctx context.Context) error {
	m, err := s.waitLog(ctx, servingRe)
	if err != nil {
		return err
	}
	s.Base = "http://" + m[1]
	if s.opts.ReadyPath == "-" {
		return nil
	}
	path := s.opts.ReadyPath
	if path == "" {
		path = "/readyz"
	}
	client := &http.Client{Timeout: 5 * time.Second}
	hung := time.NewTimer(s.opts.Hung)
	defer hung.Stop()
	for {
		resp, err := client.Get(s.Base + path) //nolint:noctx // bounded by the client's timeout
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-s.done:
			return fmt.Errorf("server exited (%v) before %s answered 200", s.waitErr, path)
		case <-hung.C:
			return fmt.Errorf("server hung: %s did not answer 200 within %s (last: %v)", path, s.opts.Hung, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitLog waits until the server's output matches re and returns re's
// submatches. It fails the test if the server exits first, or after the
// Hung time.
func (s *Server) WaitLog(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	m, err := s.waitLog(t.Context(), re)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (s *Server) waitLog(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	hung := time.NewTimer(s.opts.Hung)
	defer hung.Stop()
	for {
		m, written := s.Logs.Match(re)
		if m != nil {
			return m, nil
		}
		select {
		case <-written:
		case <-s.done:
			if m, _ := s.Logs.Match(re); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("server exited (%v) before logging %q", s.waitErr, re)
		case <-hung.C:
			return nil, fmt.Errorf("server hung: no %q after %s", re, s.opts.Hung)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Done is closed once the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Alive reports whether the process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Err is the process's exit (after Done).
func (s *Server) Err() error { return s.waitErr }

// Killed reports whether Kill (or Stop's grace running out) ended the
// process.
func (s *Server) Killed() bool { return s.killed }

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	if s.Alive() {
		s.killed = true
		_ = s.Cmd.Process.Kill()
	}
	<-s.done
}

// Stop sends SIGTERM and waits up to grace for the process to exit, then
// kills it. It returns how long the process took and its exit error (nil
// for a clean exit; an error when grace ran out).
func (s *Server) Stop(grace time.Duration) (time.Duration, error) {
	start := time.Now()
	if !s.Alive() {
		return 0, s.waitErr
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.done:
		return time.Since(start), s.waitErr
	case <-t.C:
		_ = s.Cmd.Process.Kill()
		<-s.done
		return time.Since(start), errors.Join(fmt.Errorf("still running %s after SIGTERM: killed", grace), s.waitErr)
	}
}
