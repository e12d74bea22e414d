package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/mohallamart/backend/db"
)

// migrateCmd runs `server migrate up|down|reset|status`.
func migrateCmd(ctx context.Context, cfg Config, logger *slog.Logger, args []string, out io.Writer) (err error) {
	if len(args) != 1 {
		return errUsage
	}
	d, err := openDatabase(ctx, cfg, logger, 2, shareCluster)
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := db.NewMigrator(d.pool)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()

	switch args[0] {
	case "up":
		res, err := m.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(out, "applied %s (%s)\n", r.Source.Path, r.Duration)
		}
		if err == nil && len(res) == 0 {
			fmt.Fprintln(out, "no pending migrations")
		}
		return err
	case "down":
		r, err := m.Down(ctx)
		if r != nil {
			fmt.Fprintf(out, "rolled back %s\n", r.Source.Path)
		}
		return err
	case "reset":
		res, err := m.DownTo(ctx, 0)
		for _, r := range res {
			fmt.Fprintf(out, "rolled back %s\n", r.Source.Path)
		}
		return err
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			applied := "pending"
			if !s.AppliedAt.IsZero() {
				applied = "applied " + s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(out, "%-60s %s\n", s.Source.Path, applied)
		}
		return nil
	default:
		return errUsage
	}
}
