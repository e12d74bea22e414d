package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// superuser is the database superuser initdb creates; URL connects as it.
	superuser = "postgres"

	// appDatabase is the database Start creates for `make run`.
	appDatabase = "app"

	// readyTimeout bounds how long Start waits for the server to accept
	// connections after pg_ctl reports it started.
	readyTimeout = 30 * time.Second

	// pgCtlStartTimeout is pg_ctl's own wait for the server to start, in
	// seconds.
	pgCtlStartTimeout = "60"

	// startAttempts is how often Start tries a fresh port when another
	// process took the free port it picked before the server could bind it.
	startAttempts = 3

	// maxSocketDirLen keeps the unix socket path ("<dir>/.s.PGSQL.<port>")
	// below the ~104-byte limit of sockaddr_un on Linux and macOS.
	maxSocketDirLen = 80

	// tempSocketDirPrefix names the temporary socket directories made when
	// Dir's path is too long.
	tempSocketDirPrefix = "pgcluster-"

	// logTailLines is how much of postgres.log a failed start reports.
	logTailLines = 20
)

// Cluster is a running private PostgreSQL server started or adopted by
// Start. Its fields describe the server and must not be changed.
type Cluster struct {
	// Dir is the absolute data directory root given as Opts.Dir.
	Dir string

	// DataDir is the PostgreSQL data directory, Dir/pgdata.
	DataDir string

	// LogFile is the server log, Dir/postgres.log.
	LogFile string

	// Port is the TCP port the server listens on, on 127.0.0.1 only.
	Port int

	// SocketDir holds the server's unix socket: Dir itself, or a short
	// temporary directory when Dir's path is too long for a socket path.
	SocketDir string

	// Reused reports that Start found a server already running in Dir (left
	// by a crashed process) and adopted it instead of starting one.
	Reused bool

	binDir string
	osUser osUser
	logger *slog.Logger

	mu      sync.Mutex
	stopped bool
}

// Opts configure Start.
type Opts struct {
	// Dir is the data directory root. It is created if missing, and an
	// existing initialized cluster in it is reused. Start keeps the data
	// directory in Dir/pgdata, the server log in Dir/postgres.log and,
	// when Dir's path is short enough, the unix socket in Dir. Required.
	Dir string

	// Logger receives progress messages. Optional; nil discards them.
	Logger *slog.Logger
}

// Start initializes (with initdb, if Dir has no cluster yet) and starts
// (with pg_ctl) a PostgreSQL cluster listening only on 127.0.0.1 at a free
// TCP port and on a unix socket, with trust authentication for the
// superuser "postgres". It waits until the server accepts connections and
// creates the database "app" if it is missing.
//
// The server runs with fsync, synchronous_commit and full_page_writes off,
// which makes it fast but lets a machine crash corrupt it: fine for
// development and tests only.
//
// If a server is already running in Dir (a previous process crashed without
// Stop), Start adopts it and reports Reused; Stop then stops it. The server
// outlives the Go process unless Stop is called.
//
// When the process runs as root, the binaries run as the OS user "postgres",
// Dir is chowned to it, and parent directories it cannot traverse get the
// x bit for others. Start returns an error if the binaries are missing (see
// FindBinDir), if running as root without a "postgres" OS user, or if the
// server fails to start or become ready; a start error includes the tail of
// postgres.log.
func Start(ctx context.Context, opts Opts) (*Cluster, error) {
	begin := time.Now()

	if opts.Dir == "" {
		return nil, errors.New("start postgres: Opts.Dir is required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	binDir, err := FindBinDir()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	runAs, err := currentOSUser()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	c := &Cluster{
		Dir:     dir,
		DataDir: filepath.Join(dir, "pgdata"),
		LogFile: filepath.Join(dir, "postgres.log"),
		binDir:  binDir,
		osUser:  runAs,
		logger:  logger,
	}
	if err := c.prepareDir(ctx); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	running, err := c.running(ctx)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if running {
		if err := c.adopt(); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		logger.InfoContext(ctx, "Reusing PostgreSQL server already running in data directory",
			slog.String("dir", c.Dir), slog.Int("port", c.Port))
	} else {
		if err := c.initIfNeeded(ctx); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		if err := c.start(ctx); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	}

	if err := c.waitReady(ctx); err != nil {
		return nil, c.stopAfterFailure(ctx, fmt.Errorf("start postgres: %w", err))
	}
	if err := c.createDatabase(ctx, appDatabase); err != nil {
		return nil, c.stopAfterFailure(ctx, fmt.Errorf("start postgres: %w", err))
	}

	logger.InfoContext(ctx, "PostgreSQL ready",
		slog.String("dir", c.Dir), slog.Int("port", c.Port), slog.Bool("reused", c.Reused),
		slog.Duration("elapsed", time.Since(begin)))
	return c, nil
}

// URL returns a postgres:// URL for database dbname on this cluster, as the
// superuser "postgres" over TCP on 127.0.0.1, with TLS disabled (the server
// has none).
func (c *Cluster) URL(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server with `pg_ctl stop -m fast`, which disconnects
// clients and rolls back their open transactions, and waits until it is
// down. It is safe to call more than once and from several goroutines;
// later calls return nil. Stopping a server that is already down is not an
// error.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.stopped {
		return nil
	}
	if out, err := c.pgCtl(ctx, "stop", "-D", c.DataDir, "-m", "fast", "-w", "-s"); err != nil {
		running, statusErr := c.running(ctx)
		if statusErr != nil || running {
			return fmt.Errorf("stop postgres: %s: %w", strings.TrimSpace(out), err)
		}
	}
	c.stopped = true
	c.removeTempSocketDir()
	c.logger.InfoContext(ctx, "PostgreSQL stopped", slog.String("dir", c.Dir), slog.Int("port", c.Port))
	return nil
}

// prepareDir creates Dir and, when running as root, hands it to the server's
// OS user and makes its parents traversable.
func (c *Cluster) prepareDir(ctx context.Context) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := c.osUser.ensureTraversable(ctx, c.logger, c.Dir); err != nil {
		return err
	}
	if err := c.osUser.chown(c.Dir); err != nil {
		return err
	}
	// Files left by an earlier run as another user (say, a non-root run in
	// the same checkout) would be unreadable to the server.
	if _, err := os.Stat(c.DataDir); err == nil {
		if err := c.osUser.chownTree(c.DataDir); err != nil {
			return err
		}
	}
	if _, err := os.Stat(c.LogFile); err == nil {
		if err := c.osUser.chown(c.LogFile); err != nil {
			return err
		}
	}

	return nil
}

// chooseSocketDir sets SocketDir to Dir, or to a new short temporary
// directory when Dir's path is too long for a unix socket path.
func (c *Cluster) chooseSocketDir(ctx context.Context) error {
	c.SocketDir = c.Dir
	if len(c.Dir) <= maxSocketDirLen {
		return nil
	}
	sockDir, err := shortTempDir()
	if err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	if err := c.osUser.ensureTraversable(ctx, c.logger, sockDir); err != nil {
		return err
	}
	if err := c.osUser.chown(sockDir); err != nil {
		return err
	}
	c.SocketDir = sockDir
	return nil
}

// removeTempSocketDir removes SocketDir if it is a temporary directory made
// by chooseSocketDir (perhaps by an earlier process, for an adopted server)
// and empty, as it is once the server is down.
func (c *Cluster) removeTempSocketDir() {
	if c.SocketDir != c.Dir && strings.HasPrefix(filepath.Base(c.SocketDir), tempSocketDirPrefix) {
		_ = os.Remove(c.SocketDir)
	}
}

// shortTempDir creates a private temporary directory whose path is short
// enough for a unix socket, preferring $TMPDIR and falling back to /tmp.
func shortTempDir() (string, error) {
	parent := os.TempDir()
	if len(parent) > maxSocketDirLen-len("/"+tempSocketDirPrefix+"0123456789") {
		parent = "/tmp"
	}
	return os.MkdirTemp(parent, tempSocketDirPrefix)
}

// initIfNeeded runs initdb unless DataDir already holds a cluster.
func (c *Cluster) initIfNeeded(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if entries, err := os.ReadDir(c.DataDir); err == nil && len(entries) > 0 {
		// No PG_VERSION but files: an initdb that was killed midway. initdb
		// refuses a non-empty directory, and nothing in it is worth keeping.
		c.logger.WarnContext(ctx, "Removing partially initialized PostgreSQL data directory", slog.String("data_dir", c.DataDir))
		if err := os.RemoveAll(c.DataDir); err != nil {
			return fmt.Errorf("remove partially initialized data directory: %w", err)
		}
	}

	c.logger.InfoContext(ctx, "Initializing PostgreSQL cluster", slog.String("data_dir", c.DataDir))
	cmd := c.osUser.command(ctx, c.Dir, false, filepath.Join(c.binDir, "initdb"),
		"-D", c.DataDir,
		"-U", superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--no-locale",
		"--no-sync",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %s: %w", tail(string(out), logTailLines), err)
	}
	return nil
}

// start starts the server with pg_ctl on a free port, retrying with another
// port when the chosen one was taken in the meantime.
func (c *Cluster) start(ctx context.Context) error {
	if err := c.chooseSocketDir(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			c.removeTempSocketDir()
			return err
		}
		logOffset := fileSize(c.LogFile)
		c.logger.InfoContext(ctx, "Starting PostgreSQL server", slog.String("dir", c.Dir), slog.Int("port", port))

		serverOpts := strings.Join([]string{
			"-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1",
			"-k", shellQuote(c.SocketDir),
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=200",
		}, " ")
		out, err := c.pgCtl(ctx, "start", "-D", c.DataDir, "-l", c.LogFile, "-w", "-t", pgCtlStartTimeout, "-s", "-o", serverOpts)
		if err == nil {
			c.Port = port
			return nil
		}

		serverLog := readFrom(c.LogFile, logOffset)
		if attempt < startAttempts && ctx.Err() == nil && strings.Contains(serverLog, "already in use") {
			c.logger.WarnContext(ctx, "PostgreSQL port taken before the server could bind it; retrying", slog.Int("port", port))
			continue
		}
		// pg_ctl may have given up waiting while the server still starts.
		if running, statusErr := c.running(context.WithoutCancel(ctx)); statusErr == nil && running {
			_, _ = c.pgCtl(context.WithoutCancel(ctx), "stop", "-D", c.DataDir, "-m", "immediate", "-w", "-s")
		}
		c.removeTempSocketDir()
		if serverLog == "" {
			serverLog = readFrom(c.LogFile, 0)
		}
		return fmt.Errorf("pg_ctl start: %s\n%s tail:\n%s: %w",
			strings.TrimSpace(out), c.LogFile, tail(serverLog, logTailLines), err)
	}
}

// adopt fills Port and SocketDir from the postmaster.pid of the server
// already running in DataDir.
func (c *Cluster) adopt() error {
	pidFile := filepath.Join(c.DataDir, "postmaster.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("read port of running server: %w", err)
	}
	// Lines: pid, data directory, start time, port, socket directory,
	// listen address, shared memory key, status.
	lines := strings.Split(string(data), "\n")
	if len(lines) < 5 {
		return fmt.Errorf("read port of running server: %s has %d lines, want at least 5", pidFile, len(lines))
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return fmt.Errorf("read port of running server from %s: %w", pidFile, err)
	}
	c.Port = port
	c.SocketDir = strings.TrimSpace(lines[4])
	c.Reused = true
	return nil
}

// running reports whether a server is running in DataDir, per
// `pg_ctl status`.
func (c *Cluster) running(ctx context.Context) (bool, error) {
	out, err := c.pgCtl(ctx, "status", "-D", c.DataDir)
	if err == nil {
		return true, nil
	}
	var exitErr *exec.ExitError
	// 3: not running; 4: no accessible data directory (not initialized yet).
	if errors.As(err, &exitErr) && (exitErr.ExitCode() == 3 || exitErr.ExitCode() == 4) {
		return false, nil
	}
	return false, fmt.Errorf("pg_ctl status: %s: %w", strings.TrimSpace(out), err)
}

// pgCtl runs pg_ctl with args and returns its combined output. A started
// server gets its own process group (see osUser.command).
func (c *Cluster) pgCtl(ctx context.Context, args ...string) (string, error) {
	cmd := c.osUser.command(ctx, c.Dir, true, filepath.Join(c.binDir, "pg_ctl"), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitReady connects to the server until it answers, for up to
// readyTimeout or until ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		err := c.ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server on port %d not accepting connections after %s: %w", c.Port, readyTimeout, err)
		}
		timer := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("wait for server on port %d: %w", c.Port, ctx.Err())
		case <-timer.C:
		}
	}
}

// ping opens one connection to the "postgres" database and pings it.
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// createDatabase creates database name unless it exists.
func (c *Cluster) createDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("check for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	c.logger.InfoContext(ctx, "Created database", slog.String("database", name))
	return nil
}

// stopAfterFailure stops a server that Start started itself before
// returning err; an adopted server is left running as it was found.
func (c *Cluster) stopAfterFailure(ctx context.Context, err error) error {
	if c.Reused {
		return err
	}
	if stopErr := c.Stop(context.WithoutCancel(ctx)); stopErr != nil {
		return errors.Join(err, stopErr)
	}
	return err
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // always a TCPAddr for "tcp"
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	return port, nil
}

// shellQuote quotes s for /bin/sh, which pg_ctl uses to run postgres with
// the -o options.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fileSize returns the size of the file at path, or 0 if it can't be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns the contents of the file at path from offset on, or ""
// if it can't be read.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	return string(data)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
