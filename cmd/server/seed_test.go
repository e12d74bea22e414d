package main

import (
	"bytes"
	"io"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// TestSeedCommand: `server seed` creates the demo neighbourhood in
// DATABASE_URL and says so; run again, it creates nothing and says that. In
// production it refuses.
func TestSeedCommand(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL := dbtest.NewURL(ctx, t)
	env := envFunc("DATABASE_URL", dbURL, "MIGRATE_ON_START", "false", "LOG_LEVEL", "warn", "ADDR", "127.0.0.1:8099")

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"seed"}, env, &out))
	first := out.String()
	require.Contains(t, first, "Demo neighbourhood seeded: created 7 users, 3 shops, 11 products, 6 orders; 0 rows were already there.")
	for _, status := range []string{"placed", "confirmed", "packed", "out_for_delivery", "delivered", "cancelled"} {
		require.Regexp(t, regexp.MustCompile(`(?m)^  `+status+` +₹`), first)
	}
	require.Contains(t, first, "open http://127.0.0.1:8099/dev/mailbox")

	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	count := func() (n int) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM river_job)`).Scan(&n))
		return n
	}
	before := count()

	out.Reset()
	require.NoError(t, run(ctx, []string{"seed"}, env, &out))
	require.Contains(t, out.String(), "Demo neighbourhood already there: nothing created (7 users, 3 shops, 11 products, 6 orders).")
	require.Equal(t, before, count())

	require.ErrorContains(t, run(ctx, []string{"seed", "extra"}, env, io.Discard), "usage: server seed")

	prod := envFunc(productionEnv("DATABASE_URL", dbURL)...)
	require.ErrorContains(t, run(ctx, []string{"seed"}, prod, io.Discard), "refuses to run with APP_ENV=production")
	require.Equal(t, before, count())
}
