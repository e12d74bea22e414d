package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/internal/seed"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/outbox"
)

// seedCmd runs `server seed`: it creates the demo neighbourhood (package
// seed) in DATABASE_URL or the private cluster, applying pending migrations
// first when MIGRATE_ON_START is on (the default in development), and
// prints what it created. Running it again creates nothing. It refuses to
// run in production.
func seedCmd(ctx context.Context, cfg Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("usage: server seed (takes no arguments, got %q)", strings.Join(args, " "))
	}
	if cfg.AppEnv == "production" {
		return errors.New("server seed writes demo users, shops and orders: it refuses to run with APP_ENV=production")
	}
	d, err := openDatabase(ctx, cfg, logger, 4, shareCluster)
	if err != nil {
		return err
	}
	defer d.Close()
	pool := d.pool
	if cfg.MigrateOnStart {
		if err := db.Migrate(ctx, pool); err != nil {
			return err
		}
	}
	// Insert-only: the jobs the writes enqueue are worked by the server.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("create River client: %w", err)
	}
	reg, err := registry(cfg, pool, logger)
	if err != nil {
		return err
	}
	sum, err := seed.Run(ctx, pool, outbox.New(client, reg))
	if err != nil {
		return err
	}
	printSeedSummary(out, sum, baseURL(cfg.Addr))
	return nil
}

// printSeedSummary tells what the seed created and where to look next.
func printSeedSummary(w io.Writer, sum *seed.Summary, base string) {
	counts := func(c seed.Counts) string {
		return fmt.Sprintf("%d users, %d shops, %d products, %d orders", c.Users, c.Shops, c.Products, c.Orders)
	}
	if sum.Created.Total() == 0 {
		fmt.Fprintf(w, "Demo neighbourhood already there: nothing created (%s).\n", counts(sum.Existing))
	} else {
		fmt.Fprintf(w, "Demo neighbourhood seeded: created %s; %d rows were already there.\n", counts(sum.Created), sum.Existing.Total())
	}
	fmt.Fprintln(w, "Orders:")
	for _, o := range sum.Orders {
		fmt.Fprintf(w, "  %-17s %12s  %s at %s  (%s)\n", o.Status, jobs.Rupees(o.TotalPaise), o.Customer, o.Shop, o.ID)
	}
	fmt.Fprintf(w, "Customers: %s\n", strings.Join(sum.Customers, ", "))
	if sum.Created.Total() > 0 {
		fmt.Fprintf(w, "Their emails, SMS and push are queued as jobs: with `make run` going, open %s/dev/mailbox\n", base)
	} else {
		fmt.Fprintf(w, "Their messages: %s/dev/mailbox (with `make run` going)\n", base)
	}
}
