// Package dbtest gives tests their own PostgreSQL database, cloned from a
// template migrated once, or their own transaction that is rolled back when
// the test ends (as River's riverdbtest does).
//
// The server is the one at TEST_DATABASE_URL; when that is unset, a private
// cluster is started in a temporary directory for the test process (see
// Main) from the local PostgreSQL binaries.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/internal/pgcluster"
)

// server is the process-wide test server: test helpers cannot share state any
// other way, as River's riverdbtest also keeps its pools in package state.
var server struct { //nolint:gochecknoglobals
	once     sync.Once
	err      error
	adminURL string
	template string
	// fileCopy is set when the server (PostgreSQL 15 or later) takes
	// CREATE DATABASE's STRATEGY option: a test database is then copied
	// file by file, which costs a seventh of the default WAL_LOG copy's
	// CPU (that writes every page of the template to the WAL).
	fileCopy bool
	cluster  *pgcluster.Cluster
	// inUse holds a shared advisory lock on the template until the process
	// ends, so that test processes of other migration sets (other
	// checkouts on the same server) leave it alone. inUseMu serializes its
	// use.
	inUse   *pgx.Conn
	inUseMu sync.Mutex
	// admin creates and drops the test databases on connections it keeps:
	// a new connection costs the server a backend's start (about 40 ms of
	// its CPU on a small VM), and a test used to open two for that.
	admin *pgxpool.Pool

	// Under Run, test databases are dropped in the background: DROP
	// DATABASE waits for a checkpoint, which concurrent drops share. Run
	// waits for the drops.
	dropLater  bool
	drops      sync.WaitGroup
	dropFailed atomic.Bool
}

// Main runs a package's tests and then stops the cluster Main's tests may
// have started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to clean up: it runs the tests,
// waits for their databases to be dropped and stops the cluster, and returns the exit code for os.Exit (1 if a database
// could not be dropped).
func Run(m *testing.M) int {
	server.dropLater = true
	code := m.Run()
	server.drops.Wait()
	if server.dropFailed.Load() && code == 0 {
		code = 1
	}
	if server.admin != nil {
		server.admin.Close()
	}
	if server.inUse != nil {
		_ = server.inUse.Close(context.Background())
	}
	if server.cluster != nil {
		if err := server.cluster.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest: stop cluster:", err)
		}
	}
	return code
}

func setup(ctx context.Context) (err error) {
	server.adminURL = os.Getenv("TEST_DATABASE_URL")
	if server.adminURL == "" {
		server.cluster, err = pgcluster.StartTemp(ctx, "mohallamart-test-pg-", nil)
		if err != nil {
			return fmt.Errorf("TEST_DATABASE_URL is unset and a private cluster could not start: %w", err)
		}
		server.adminURL = server.cluster.URL("postgres")
	}
	server.template, server.inUse, err = ensureTemplate(ctx, server.adminURL)
	if err != nil {
		return err
	}
	var version int
	if err := server.inUse.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	server.fileCopy = version >= 150000
	cfg, err := pgxpool.ParseConfig(server.adminURL)
	if err != nil {
		return fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	cfg.MaxConns = adminConns
	// Each statement names a new database: nothing to prepare and cache.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if server.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// adminConns bounds the connections that create and drop test databases:
// the drops of a test process run in the background, several at once.
const adminConns = 4

// migrationsHash names the template after the migrations it holds, so a
// changed migration gets a fresh template while unchanged ones are reused
// across test processes and runs.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(db.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(db.Migrations(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// templateLockClass is the first key of the advisory locks (two-key form)
// that mark a template in use; the second is hashtext of its name.
const templateLockClass = 727274

// ensureTemplate creates and migrates the template database once per server,
// under an advisory lock so that concurrent test processes wait for the first.
// It returns the template's name and a connection holding a shared lock that
// marks the template in use until it is closed.
func ensureTemplate(ctx context.Context, adminURL string) (string, *pgx.Conn, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", nil, err
	}
	name := "mm_template_" + hash
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to test server: %w", err)
	}
	if err := buildTemplate(ctx, conn, adminURL, name, true); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return "", nil, err
	}
	return name, conn, nil
}

// buildTemplate creates and migrates template name unless it exists, and
// marks it in use by conn's session, all under the lock that
// dropStaleTemplates also takes. Building it, it drops stale templates if
// dropStale.
func buildTemplate(ctx context.Context, conn *pgx.Conn, adminURL, name string, dropStale bool) error {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(727274)") //nolint:errcheck

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock_shared($1, hashtext($2))", templateLockClass, name); err != nil {
		return fmt.Errorf("mark template in use: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return nil
	}
	if dropStale {
		dropStaleTemplates(ctx, conn, name)
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	pool, err := pgxpool.New(ctx, withDatabase(adminURL, building))
	if err != nil {
		return fmt.Errorf("connect to template: %w", err)
	}
	err = db.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return fmt.Errorf("rename template: %w", err)
	}
	return nil
}

func withDatabase(rawURL, dbname string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(fmt.Sprintf("dbtest: bad database URL: %v", err))
	}
	u.Path = "/" + dbname
	return u.String()
}

func start(t testing.TB) {
	t.Helper()
	if err := startServer(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
}

func startServer() error {
	server.once.Do(func() { server.err = setup(context.Background()) })
	return server.err
}

// NewDatabase creates a fresh, migrated database outside of a test (for
// example functions, which have no *testing.T) and returns its URL and a
// function that drops it.
func NewDatabase(ctx context.Context) (string, func() error, error) {
	if err := startServer(); err != nil {
		return "", nil, err
	}
	name, err := createDatabase(ctx, "mm_example_")
	if err != nil {
		return "", nil, err
	}
	return withDatabase(server.adminURL, name), func() error { return dropDatabase(context.Background(), name) }, nil
}

// NewURL creates a fresh, migrated database for this test (dropped when the
// test ends; under Run, in the background) and returns its URL. Use it when
// the code under test commits, or when a River client must really work jobs
// (LISTEN/NOTIFY).
func NewURL(ctx context.Context, t testing.TB) string {
	t.Helper()
	start(t)
	name, err := createDatabase(ctx, "mm_test_")
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if !server.dropLater {
			if err := dropDatabase(context.Background(), name); err != nil {
				t.Errorf("dbtest: %v", err)
			}
			return
		}
		test := t.Name()
		server.drops.Go(func() {
			if err := dropDatabase(context.Background(), name); err != nil {
				fmt.Fprintf(os.Stderr, "dbtest: after %s: %v\n", test, err)
				server.dropFailed.Store(true)
			}
		})
	})
	return withDatabase(server.adminURL, name)
}

// NewPool is NewURL with a pool on the new database, closed when the test ends.
func NewPool(ctx context.Context, t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(ctx, NewURL(ctx, t))
	if err != nil {
		t.Fatalf("dbtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewPoolURL is a pool on url (a database from NewURL), closed when the
// test ends: a second process on the test's database.
func NewPoolURL(ctx context.Context, t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatalf("dbtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestTx begins a transaction in a fresh, migrated database of the test's
// own (NewURL) and rolls it back when the test ends, so a test sees only its
// own writes and leaves nothing behind. Code under test that begins
// transactions of its own gets savepoints when handed tx.Begin or tx itself.
// (The database is the test's own, not one shared by parallel tests: rolled
// back or not, their transactions' locks would make them wait for one
// another, say on an analytics batch's first event, and a new wait's look
// for publishers in flight would wait for all of them.)
func TestTx(ctx context.Context, t testing.TB) pgx.Tx {
	t.Helper()
	conn, err := pgx.Connect(ctx, NewURL(ctx, t))
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		t.Fatalf("dbtest: begin: %v", err)
	}
	t.Cleanup(func() {
		err := tx.Rollback(context.WithoutCancel(ctx))
		if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			t.Errorf("dbtest: rollback: %v", err)
		}
		_ = conn.Close(context.WithoutCancel(ctx))
	})
	return tx
}

// createDatabase clones the template into a new database named prefix plus
// random hex.
func createDatabase(ctx context.Context, prefix string) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	create := "CREATE DATABASE " + name + " TEMPLATE " + server.template
	if server.fileCopy {
		create += " STRATEGY = FILE_COPY"
	}
	_, err := server.admin.Exec(ctx, create)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name: the template is gone
		// A test process that does not mark templates in use (an older
		// checkout on the same server) dropped it: build it again, leaving
		// that process's template alone.
		server.inUseMu.Lock()
		err = buildTemplate(ctx, server.inUse, server.adminURL, server.template, false)
		server.inUseMu.Unlock()
		if err != nil {
			return "", err
		}
		_, err = server.admin.Exec(ctx, create)
	}
	if err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return name, nil
}

func dropDatabase(ctx context.Context, name string) error {
	if _, err := server.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// dropStaleTemplates drops templates of other migration sets than keep's, so
// a developer's server does not collect one per schema change. A template
// that a running test process marked in use, or that a session is connected
// to (DROP DATABASE without FORCE refuses), is left alone.
func dropStaleTemplates(ctx context.Context, conn *pgx.Conn, keep string) {
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'mm\\_template\\_%' AND datname NOT LIKE '%\\_building'")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		var unused bool
		if n == keep || conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", templateLockClass, n).Scan(&unused) != nil || !unused {
			continue
		}
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize())
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", templateLockClass, n)
	}
}
