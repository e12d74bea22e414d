// Command withpg runs a command with TEST_DATABASE_URL set to a private
// PostgreSQL cluster, which it starts from the local binaries in a
// temporary directory, in memory where it can ([pgcluster.TempDir]), and
// removes when the command ends. When TEST_DATABASE_URL is already set,
// it runs the command as it is.
//
// `make test` runs `go test ./...` under it, so that every package's test
// process shares one cluster: without it, each would start a cluster of
// its own and migrate a template database in it.
//
//	go run ./cmd/withpg go test ./...
//
// It exits with the command's exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/mohallamart/backend/internal/pgcluster"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs args under a private cluster (unless TEST_DATABASE_URL is set)
// and returns the exit code.
func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: withpg command [arg...]")
		return 2
	}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return command(args)
	}
	ctx := context.Background()
	cluster, err := pgcluster.StartTemp(ctx, "mohallamart-test-pg-", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withpg:", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "withpg: stop cluster:", err)
		}
	}()
	if err := os.Setenv("TEST_DATABASE_URL", cluster.URL("postgres")); err != nil {
		fmt.Fprintln(os.Stderr, "withpg:", err)
		return 1
	}
	return command(args)
}

// command runs args with withpg's standard streams and environment and
// returns its exit code. An interrupt or SIGTERM withpg gets goes on to
// the command, and withpg waits for it to end (then run stops the
// cluster).
func command(args []string) int {
	cmd := exec.Command(args[0], args[1:]...) //nolint:gosec // the command line is the caller's
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	err := cmd.Start()
	if err == nil {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		for waiting := true; waiting; {
			select {
			case sig := <-signals:
				_ = cmd.Process.Signal(sig)
			case err = <-done:
				waiting = false
			}
		}
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "withpg:", err)
		return 1
	}
}
