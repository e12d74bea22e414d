package db_test

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
)

// lockTries is a pgx tracer that closes tried when its connections first
// ask for goose's migration lock.
type lockTries struct {
	once  sync.Once
	tried chan struct{}
}

func (l *lockTries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.Contains(data.SQL, "pg_try_advisory_lock") {
		l.once.Do(func() { close(l.tried) })
	}
	return ctx
}

func (*lockTries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// tracedMigrator is a Migrator on its own pool to url whose first request
// for the migration lock closes the returned channel.
func tracedMigrator(t *testing.T, url string) (*db.Migrator, <-chan struct{}) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	tries := &lockTries{tried: make(chan struct{})}
	cfg.ConnConfig.Tracer = tries
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m, tries.tried
}

// holdMigrationLock takes goose's migration lock on a connection of its own
// and returns the function that releases it.
func holdMigrationLock(t *testing.T, url string) (release func()) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(t.Context())) })
	_, err = conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", lock.DefaultLockID)
	require.NoError(t, err)
	return func() {
		var released bool
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT pg_advisory_unlock($1)", lock.DefaultLockID).Scan(&released))
		require.True(t, released)
	}
}

type upResult struct {
	res []*goose.MigrationResult
	err error
}

// TestMigrationsTakeTheLock: two processes migrating a fresh database at
// once take turns under goose's advisory lock. While another session holds
// the lock, both wait and apply nothing; once it is released, both succeed
// and every migration is applied once, by one of them.
func TestMigrationsTakeTheLock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := dbtest.NewURL(ctx, t)
	empty, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(empty.Close)
	m, err := db.NewMigrator(empty)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	_, err = m.DownTo(ctx, 0)
	require.NoError(t, err)

	release := holdMigrationLock(t, url)
	results := make(chan upResult, 2)
	for range 2 {
		migrator, tried := tracedMigrator(t, url)
		go func() {
			res, err := migrator.Up(ctx)
			results <- upResult{res, err}
		}()
		select {
		case <-tried:
		case r := <-results:
			t.Fatalf("Up returned (%d migrations, error %v) without asking for the lock another session holds", len(r.res), r.err)
		}
	}
	var users *string
	require.NoError(t, empty.QueryRow(ctx, "SELECT to_regclass('users')::text").Scan(&users))
	require.Nil(t, users, "nothing is applied while the lock is held")

	release()
	files, err := fs.Glob(db.Migrations(), "*.sql")
	require.NoError(t, err)
	var applied []int
	for range 2 {
		r := <-results
		require.NoError(t, r.err)
		applied = append(applied, len(r.res))
	}
	require.ElementsMatch(t, []int{len(files), 0}, applied, "one migrator applies everything, the other finds nothing pending")
	var versions, distinct int
	require.NoError(t, empty.QueryRow(ctx, "SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0 AND is_applied").Scan(&versions, &distinct))
	require.Equal(t, len(files), versions)
	require.Equal(t, len(files), distinct)
}

// TestPendingDoesNotWaitForTheLock: readiness asks Pending while a
// migration may hold the lock; Pending answers without asking for it.
func TestPendingDoesNotWaitForTheLock(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t.Context(), t)
	release := holdMigrationLock(t, url)
	defer release()
	m, tried := tracedMigrator(t, url)

	type pendingResult struct {
		n   int
		err error
	}
	done := make(chan pendingResult, 1)
	go func() {
		n, err := m.Pending(t.Context())
		done <- pendingResult{n, err}
	}()
	select {
	case r := <-done:
		require.NoError(t, r.err)
		require.Zero(t, r.n)
	case <-tried:
		t.Fatal("Pending asks for the migration lock, so it waits for a migration in progress")
	}
}
