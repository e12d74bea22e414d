package db_test

import (
	"io/fs"
	"os"
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

// migrationFile is one migration file: its text and its SQL without line
// comments.
type migrationFile struct {
	text, sql string
}

// ourMigrations returns every migration file except River's own (River's
// business, applied as River ships them), by file name.
func ourMigrations(t *testing.T) map[string]migrationFile {
	t.Helper()
	files, err := fs.Glob(db.Migrations(), "*.sql")
	require.NoError(t, err)
	comment := regexp.MustCompile(`(?m)--.*$`)
	out := map[string]migrationFile{}
	for _, name := range files {
		if strings.Contains(name, "_river_0") {
			continue
		}
		b, err := fs.ReadFile(db.Migrations(), name)
		require.NoError(t, err)
		out[name] = migrationFile{text: string(b), sql: comment.ReplaceAllString(string(b), "")}
	}
	return out
}

// TestIndexesOnExistingTablesBuiltConcurrently: a migration that builds an
// index on a table it did not create itself (one that may be large by the
// time the migration runs: events, river_job, deliveries, analytics_events,
// orders, ...) builds it CONCURRENTLY, outside a transaction, so migrating
// a live database never blocks that table's writes while the index builds.
// An index on a table created in the same file is built while the table is
// empty. A UNIQUE or PRIMARY KEY constraint added to an existing table
// builds an index too, under an exclusive lock, unless it adopts one built
// concurrently (USING INDEX).
func TestIndexesOnExistingTablesBuiltConcurrently(t *testing.T) {
	t.Parallel()
	createTable := regexp.MustCompile(`(?is)\bCREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?`)
	createIndex := regexp.MustCompile(`(?is)\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?[^;]*?\sON\s+(?:ONLY\s+)?"?(\w+)"?`)
	addKey := regexp.MustCompile(`(?is)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?"?(\w+)"?\s+ADD\s+(?:CONSTRAINT\s+\w+\s+)?(?:UNIQUE|PRIMARY\s+KEY)\b([^;]*)`)
	checked := map[string]bool{}
	for name, f := range ourMigrations(t) {
		created := map[string]bool{}
		for _, m := range createTable.FindAllStringSubmatch(f.sql, -1) {
			created[strings.ToLower(m[1])] = true
		}
		for _, m := range createIndex.FindAllStringSubmatch(f.sql, -1) {
			table := strings.ToLower(m[2])
			if created[table] {
				continue
			}
			checked[table] = true
			require.NotEmpty(t, m[1], "%s: CREATE INDEX on %s, a table this file did not create, without CONCURRENTLY", name, table)
			require.Contains(t, f.text, "-- +goose NO TRANSACTION", "%s: CONCURRENTLY needs -- +goose NO TRANSACTION", name)
		}
		for _, m := range addKey.FindAllStringSubmatch(f.sql, -1) {
			table := strings.ToLower(m[1])
			if !created[table] {
				require.Regexp(t, `(?i)\bUSING\s+INDEX\b`, m[2], "%s: a UNIQUE or PRIMARY KEY constraint on %s builds its index under lock; build it CONCURRENTLY and add the constraint USING INDEX", name, table)
			}
		}
	}
	require.True(t, checked["river_job"] && checked["analytics_events"],
		"the indexes added later to river_job and analytics_events are checked: %v", checked)
}

// TestWholeTableUpdatesDocumented: an UPDATE without a WHERE rewrites every
// row of its table in the migration's one transaction, holding their row
// locks until it commits. Such a migration is named in
// docs/ARCHITECTURE.md's list of the migrations that need a maintenance
// window on a large database.
func TestWholeTableUpdatesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/ARCHITECTURE.md")
	require.NoError(t, err)
	update := regexp.MustCompile(`(?is)^\s*UPDATE\s+(?:ONLY\s+)?"?(\w+)"?\s`)
	where := regexp.MustCompile(`(?i)\bWHERE\b`)
	var found []string
	for name, f := range ourMigrations(t) {
		for stmt := range strings.SplitSeq(f.sql, ";") {
			if update.MatchString(stmt) && !where.MatchString(stmt) {
				found = append(found, name)
				require.True(t, strings.Contains(string(doc), "`"+name+"`"), "%s updates a whole table: batch it, or name it in docs/ARCHITECTURE.md as needing a maintenance window", name)
			}
		}
	}
	require.Subset(t, found, []string{"00013_deliveries_sending_product_version.sql", "00024_product_changed_at.sql"},
		"the whole-table UPDATEs are found")
}

// TestAnalyticsRetentionIndexBuiltOnce: the retention index on
// analytics_events is built by 00025, CONCURRENTLY; a database that has it
// already from the earlier text of 00016 migrates across 00025 keeping it.
func TestAnalyticsRetentionIndexBuiltOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	valid := func() bool {
		var ok bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('analytics_events_created_at_idx')), false)`).Scan(&ok))
		return ok
	}
	require.True(t, valid(), "a fresh database has the index")

	_, err = m.DownTo(ctx, 24)
	require.NoError(t, err)
	require.False(t, valid(), "00025's Down drops it")
	// What 00016 used to build, in its transaction.
	_, err = pool.Exec(ctx, "CREATE INDEX analytics_events_created_at_idx ON analytics_events (created_at)")
	require.NoError(t, err)
	_, err = m.Up(ctx)
	require.NoError(t, err)
	require.True(t, valid())
}
