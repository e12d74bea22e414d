package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mohallamart/backend/internal/pgcluster"
)

// dbURLCmd runs `server db-url`: it prints the URL the other commands
// connect to, DATABASE_URL or the private cluster's under DATA_DIR, for
// psql and other tools (`make psql`). It starts nothing: when the private
// cluster is not running it fails, giving the URL and how to start it.
func dbURLCmd(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("usage: server db-url (takes no arguments, got %q)", strings.Join(args, " "))
	}
	if cfg.DatabaseURL != "" {
		_, err := fmt.Fprintln(out, cfg.DatabaseURL)
		return err
	}
	st, err := pgcluster.Inspect(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("DATABASE_URL is unset and the private PostgreSQL under %s: %w", cfg.DataDir, err)
	}
	switch {
	case st.Port == 0:
		return fmt.Errorf("DATABASE_URL is unset and there is no private PostgreSQL under %s yet: `make run` creates and starts it", cfg.DataDir)
	case !st.Running:
		return fmt.Errorf("the private PostgreSQL under %s is not running (its URL is %s): start it with `make run`", cfg.DataDir, st.URL("app"))
	}
	_, err = fmt.Fprintln(out, st.URL("app"))
	return err
}
