package db_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestMigrateRoundTrip migrates a database all the way down to empty and up
// again: every Down section undoes its Up.
func TestMigrateRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t) // already migrated up from the template

	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })

	pending, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Zero(t, pending)

	tables := func() []string {
		rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version' ORDER BY 1`)
		require.NoError(t, err)
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			names = append(names, n)
		}
		require.NoError(t, rows.Err())
		return names
	}
	up := tables()
	for _, want := range []string{"users", "shops", "products", "orders", "order_items", "sessions", "app_logs",
		"events", "deliveries", "analytics_events", "search_documents", "river_job", "river_queue", "river_leader", "river_migration"} {
		require.Contains(t, up, want)
	}

	_, err = m.DownTo(ctx, 0)
	require.NoError(t, err)
	require.Empty(t, tables(), "down to 0 leaves tables behind")
	var types int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e'`).Scan(&types))
	require.Zero(t, types, "down to 0 leaves enum types behind")

	res, err := m.Up(ctx)
	require.NoError(t, err)
	files, err := fs.Glob(db.Migrations(), "*.sql")
	require.NoError(t, err)
	require.Len(t, res, len(files), "one result per migration file")
	require.Equal(t, up, tables())

	// River's own migrator agrees that its schema is current.
	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	require.NoError(t, err)
	valid, err := rm.Validate(ctx, nil)
	require.NoError(t, err)
	require.True(t, valid.OK, "River migrations not applied: %v", valid.Messages)

	st, err := m.Status(ctx)
	require.NoError(t, err)
	for _, s := range st {
		require.Equal(t, goose.StateApplied, s.State, s.Source.Path)
	}
}

// TestRiverJobIndexesBuiltConcurrently: an index our migrations add to
// river_job, a busy table, is built CONCURRENTLY (and so outside a
// transaction), so a deploy's migration never blocks job inserts and
// fetches while it builds. River's own migrations are River's business.
func TestRiverJobIndexesBuiltConcurrently(t *testing.T) {
	t.Parallel()
	createIndex := regexp.MustCompile(`(?i)CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?[^;]*\sON\s+river_job\b`)
	files, err := fs.Glob(db.Migrations(), "*.sql")
	require.NoError(t, err)
	checked := 0
	for _, name := range files {
		if strings.Contains(name, "_river_0") {
			continue
		}
		b, err := fs.ReadFile(db.Migrations(), name)
		require.NoError(t, err)
		for _, m := range createIndex.FindAllStringSubmatch(string(b), -1) {
			checked++
			require.NotEmpty(t, m[2], "%s: CREATE INDEX on river_job without CONCURRENTLY", name)
			require.Contains(t, string(b), "-- +goose NO TRANSACTION", "%s: CONCURRENTLY needs -- +goose NO TRANSACTION", name)
		}
	}
	require.Positive(t, checked, "the river_job event_id index is checked")
}
