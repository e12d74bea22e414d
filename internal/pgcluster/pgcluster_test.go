package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// skipShort skips tests that start a PostgreSQL cluster in -short mode.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster: skipped in -short mode")
	}
}

// startCluster starts a cluster in dir and stops it when the test ends.
func startCluster(ctx context.Context, t *testing.T, dir string) *Cluster {
	t.Helper()
	begin := time.Now()
	c, err := Start(ctx, Opts{Dir: dir, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	t.Logf("Start took %s (reused running server: %t)", time.Since(begin), c.Reused)
	t.Cleanup(func() { require.NoError(t, c.Stop(context.WithoutCancel(ctx))) })
	return c
}

// connect opens a connection closed when the test ends.
func connect(ctx context.Context, t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, connString)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(ctx)) })
	return conn
}

// TestStart runs initdb once: its subtests share one data directory and run
// in order. The first starts a cluster in the empty directory; each leaves a
// stopped, initialized cluster there for the next.
func TestStart(t *testing.T) {
	t.Parallel()
	skipShort(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "pgdata")

	t.Run("ServesQueriesOnLoopbackOnly", func(t *testing.T) {
		ctx := t.Context()
		c := startCluster(ctx, t, dir)

		require.False(t, c.Reused)
		require.NotZero(t, c.Port)
		require.Equal(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/app?sslmode=disable", c.Port), c.URL("app"))

		conn := connect(ctx, t, c.URL("app"))
		var one int
		require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))
		require.Equal(t, 1, one)

		var listen, fsync string
		require.NoError(t, conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen))
		require.Equal(t, "127.0.0.1", listen)
		require.NoError(t, conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync))
		require.Equal(t, "off", fsync)

		_, err := conn.Exec(ctx, "CREATE DATABASE widgets")
		require.NoError(t, err)
		widgets := connect(ctx, t, c.URL("widgets"))
		var db string
		require.NoError(t, widgets.QueryRow(ctx, "SELECT current_database()").Scan(&db))
		require.Equal(t, "widgets", db)
	})
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	require.NoError(t, err, "the first Start initialized the data directory the next subtests use")

	t.Run("StopTwice", func(t *testing.T) {
		ctx := t.Context()
		c := startCluster(ctx, t, dir)

		require.NoError(t, c.Stop(ctx))
		require.NoError(t, c.Stop(ctx))

		_, err := pgx.Connect(ctx, c.URL("app"))
		require.Error(t, err)
	})

	t.Run("ReusesInitializedDir", func(t *testing.T) {
		ctx := t.Context()

		first := startCluster(ctx, t, dir)
		conn := connect(ctx, t, first.URL("app"))
		_, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
		require.NoError(t, err)
		require.NoError(t, conn.Close(ctx))
		require.NoError(t, first.Stop(ctx))

		second := startCluster(ctx, t, dir)
		require.False(t, second.Reused)
		var v string
		require.NoError(t, connect(ctx, t, second.URL("app")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v))
		require.Equal(t, "still here", v)
	})

	t.Run("SecondStartLeavesOwnersServerRunning", func(t *testing.T) {
		ctx := t.Context()

		// The owner plays `make run`; the second Start plays `make migrate`
		// next to it.
		owner := startCluster(ctx, t, dir)
		require.True(t, owner.Owner)
		require.Equal(t, os.Getpid(), owner.OwnerPID)
		require.NoError(t, owner.SetOwnerNote("http://127.0.0.1:8080"))

		second := startCluster(ctx, t, dir)
		require.True(t, second.Reused)
		require.False(t, second.Owner)
		require.Equal(t, owner.OwnerPID, second.OwnerPID)
		require.Equal(t, "http://127.0.0.1:8080", second.OwnerNote)
		require.Equal(t, owner.Port, second.Port)
		require.ErrorContains(t, second.SetOwnerNote("elsewhere"), "owned by pid")

		require.NoError(t, second.Stop(ctx))
		var one int
		require.NoError(t, connect(ctx, t, owner.URL("app")).QueryRow(ctx, "SELECT 1").Scan(&one),
			"Stop of a Cluster that does not own the server leaves it running")

		require.NoError(t, owner.Stop(ctx))
		_, err := pgx.Connect(ctx, owner.URL("app"))
		require.Error(t, err, "the owner's Stop stops the server")
		_, err = os.Stat(filepath.Join(dir, ownerFileName))
		require.ErrorIs(t, err, os.ErrNotExist, "the owner's Stop removes the owner file")
	})

	t.Run("AdoptsServerOfExitedOwner", func(t *testing.T) {
		ctx := t.Context()

		// The first Cluster plays a crashed `make run` that never called
		// Stop: its owner file names a process that has exited.
		crashed := startCluster(ctx, t, dir)
		exited := exec.CommandContext(ctx, "true")
		require.NoError(t, exited.Run())
		require.NoError(t, os.WriteFile(filepath.Join(dir, ownerFileName), fmt.Appendf(nil, "%d\n", exited.ProcessState.Pid()), 0o600))

		adopted := startCluster(ctx, t, dir)
		require.True(t, adopted.Reused)
		require.True(t, adopted.Owner, "the server's owner exited, so the adopting Cluster owns it")
		require.Equal(t, crashed.Port, adopted.Port)
		require.Equal(t, crashed.SocketDir, adopted.SocketDir)

		require.NoError(t, adopted.Stop(ctx))
		_, err := pgx.Connect(ctx, crashed.URL("app"))
		require.Error(t, err, "Stop of the adopted Cluster stops the server")
	})

	t.Run("Restart", func(t *testing.T) {
		ctx := t.Context()
		c := startCluster(ctx, t, dir)
		conn := connect(ctx, t, c.URL("app"))
		_, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS restarted (v int); INSERT INTO restarted VALUES (1)")
		require.NoError(t, err)
		for _, mode := range []string{"fast", "immediate"} {
			require.NoError(t, c.Restart(ctx, mode), mode)
			var n int
			require.NoError(t, connect(ctx, t, c.URL("app")).QueryRow(ctx, "SELECT count(*) FROM restarted").Scan(&n), mode)
			require.Equal(t, 1, n, "%s: the committed row is still there", mode)
		}
		require.Error(t, conn.Ping(ctx), "connections from before the restart are gone")
		require.ErrorContains(t, c.Restart(ctx, "smart"), `mode "smart" is not fast or immediate`)
		require.NoError(t, c.Stop(ctx))
		require.ErrorContains(t, c.Restart(ctx, "fast"), "is not running for this process")
	})

	t.Run("KeepsPortAcrossRestarts", func(t *testing.T) {
		ctx := t.Context()

		first := startCluster(ctx, t, dir)
		st, err := Inspect(ctx, dir)
		require.NoError(t, err)
		require.Equal(t, State{Port: first.Port, Running: true, OwnerPID: os.Getpid()}, st)
		require.Equal(t, first.URL("app"), st.URL("app"))
		require.NoError(t, first.Stop(ctx))

		st, err = Inspect(ctx, dir)
		require.NoError(t, err)
		require.Equal(t, State{Port: first.Port}, st, "a stopped cluster still has its port")

		second := startCluster(ctx, t, dir)
		require.False(t, second.Reused)
		require.Equal(t, first.Port, second.Port)
		require.Equal(t, first.URL("app"), second.URL("app"))
		require.NoError(t, second.Stop(ctx))

		// Another program on the cluster's port: Start says so.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(first.Port)))
		require.NoError(t, err)
		defer l.Close()
		_, err = Start(ctx, Opts{Dir: dir})
		require.ErrorContains(t, err, fmt.Sprintf("port %d, which the cluster in %s always uses", first.Port, dir))
		require.ErrorContains(t, err, "is taken by another program")
		_, err = os.Stat(filepath.Join(dir, ownerFileName))
		require.ErrorIs(t, err, os.ErrNotExist, "a failed Start leaves no owner behind")
	})

	t.Run("LongDirUsesShortSocketDir", func(t *testing.T) {
		ctx := t.Context()
		longDir := filepath.Join(t.TempDir(), strings.Repeat("a-rather-long-directory-name/", 4))
		require.Greater(t, len(longDir), maxSocketDirLen)
		// Moving the stopped cluster there (and back for the next subtests)
		// costs no initdb.
		require.NoError(t, os.MkdirAll(longDir, 0o700))
		require.NoError(t, os.Rename(dataDir, filepath.Join(longDir, "pgdata")))
		t.Cleanup(func() { require.NoError(t, os.Rename(filepath.Join(longDir, "pgdata"), dataDir)) })

		c := startCluster(ctx, t, longDir)
		require.NotEqual(t, c.Dir, c.SocketDir)
		require.LessOrEqual(t, len(c.SocketDir), maxSocketDirLen)

		socketURL := fmt.Sprintf("postgres://postgres@/app?host=%s&port=%d", url.QueryEscape(c.SocketDir), c.Port)
		var one int
		require.NoError(t, connect(ctx, t, socketURL).QueryRow(ctx, "SELECT 1").Scan(&one))

		require.NoError(t, c.Stop(ctx))
		_, err := os.Stat(c.SocketDir)
		require.ErrorIs(t, err, os.ErrNotExist, "Stop removes the temporary socket directory")
	})

	t.Run("StalePidFile", func(t *testing.T) {
		ctx := t.Context()

		// A postmaster.pid left by a server that died with its machine: its
		// pid belongs to no running process.
		exited := exec.CommandContext(ctx, "true")
		require.NoError(t, exited.Run())
		port, err := freePort()
		require.NoError(t, err)
		pidFile := filepath.Join(dataDir, "postmaster.pid")
		stale := fmt.Sprintf("%d\n%s\n0\n%d\n%s\n127.0.0.1\n0 0\nready\n",
			exited.ProcessState.Pid(), dataDir, port, dir)
		require.NoError(t, os.WriteFile(pidFile, []byte(stale), 0o600))

		restarted := startCluster(ctx, t, dir)
		require.False(t, restarted.Reused)
		var one int
		require.NoError(t, connect(ctx, t, restarted.URL("app")).QueryRow(ctx, "SELECT 1").Scan(&one))
	})

	t.Run("StartFailureIncludesLogTail", func(t *testing.T) {
		ctx := t.Context()

		// A setting the server rejects makes it exit during startup.
		conf := filepath.Join(dataDir, "postgresql.auto.conf")
		good, err := os.ReadFile(conf)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(conf, []byte("shared_buffers = 'nonsense'\n"), 0o600))
		t.Cleanup(func() { require.NoError(t, os.WriteFile(conf, good, 0o600)) })

		_, err = Start(ctx, Opts{Dir: dir})
		require.Error(t, err)
		require.Contains(t, err.Error(), "shared_buffers")
		require.Contains(t, err.Error(), "postgres.log")
	})
}

func TestStartRequiresDir(t *testing.T) {
	t.Parallel()

	_, err := Start(t.Context(), Opts{})
	require.EqualError(t, err, "start postgres: Opts.Dir is required")
}

func TestStartHonorsCanceledContext(t *testing.T) {
	t.Parallel()
	skipShort(t)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Start(ctx, Opts{Dir: t.TempDir()})
	require.Error(t, err)
	require.True(t, errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "signal: killed"), err.Error())
}

func TestFindBinDir(t *testing.T) {
	t.Parallel()

	dir, err := FindBinDir()
	require.NoError(t, err, "this machine and CI have the PostgreSQL server binaries")
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.True(t, fi.Mode().IsRegular(), name)
	}
}

func TestCompareVersions(t *testing.T) {
	t.Parallel()

	tests := []struct {
		a, b string
		want int // sign
	}{
		{"15", "15", 0},
		{"9.6", "10", -1},
		{"16", "15", 1},
		{"16.2", "16", 1},
		{"x", "1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			t.Parallel()
			got := compareVersions(tt.a, tt.b)
			require.Equal(t, tt.want, sign(got), "compareVersions(%q, %q) = %d", tt.a, tt.b, got)
		})
	}
}

func TestTail(t *testing.T) {
	t.Parallel()

	var lines []string
	for i := range 30 {
		lines = append(lines, strconv.Itoa(i))
	}
	require.Equal(t, "27\n28\n29", tail(strings.Join(lines, "\n")+"\n", 3))
	require.Equal(t, "only", tail("only", 3))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	default:
		return 0
	}
}

// TestStartTemp: a throwaway cluster lives in a new directory under TMPDIR
// and serves queries; its Stop removes the directory, and a cluster that
// fails to start leaves none behind.
func TestStartTemp(t *testing.T) {
	skipShort(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx := t.Context()

	c, err := StartTemp(ctx, "pgcluster-temp-", slog.New(slog.NewTextHandler(t.Output(), nil)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop(context.WithoutCancel(ctx)) }) // when a check below fails
	require.Equal(t, tmp, filepath.Dir(c.Dir))
	require.True(t, strings.HasPrefix(filepath.Base(c.Dir), "pgcluster-temp-"), c.Dir)
	var one int
	require.NoError(t, connect(ctx, t, c.URL("postgres")).QueryRow(ctx, "SELECT 1").Scan(&one))
	require.NoError(t, c.Stop(ctx))
	require.NoDirExists(t, c.Dir)
	require.NoError(t, c.Stop(ctx), "a second Stop")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = StartTemp(canceled, "pgcluster-temp-", nil)
	require.Error(t, err)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "the failed start's directory is removed")
}
