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

	// portFileName, in Dir, holds the TCP port the cluster listens on. The
	// first start chooses a free port and writes it; every later start
	// reuses it, so the cluster's URL never changes.
	portFileName = "port"

	// ownerFileName, in Dir, holds the process id of the server's owner and,
	// on its second line, the owner's note (see Cluster.SetOwnerNote).
	ownerFileName = "owner.pid"
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

	// Reused reports that Start found a server already running in Dir and
	// adopted it instead of starting one.
	Reused bool

	// Owner reports that this Cluster owns the server: Start started it, or
	// adopted it from a process that exited without stopping it. Stop stops
	// only an owned server; it leaves one owned by another process running.
	Owner bool

	// OwnerPID is the process id of the server's owner: this process when
	// Owner is true, else the process that started it and will stop it.
	OwnerPID int

	// OwnerNote is what the owning process said about itself with
	// SetOwnerNote (a server's address, say), or "" if it said nothing.
	OwnerNote string

	binDir string
	osUser osUser
	logger *slog.Logger

	// removeDir is set by StartTemp until Stop has removed Dir, once the
	// server is down.
	removeDir bool

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
// (with pg_ctl) a PostgreSQL cluster listening only on 127.0.0.1 and on a
// unix socket, with trust authentication for the superuser "postgres". It
// waits until the server accepts connections and creates the database "app"
// if it is missing.
//
// The cluster keeps one TCP port for its lifetime: the first start picks a
// free one and stores it in Dir/port, and every later start reuses it. If
// another program has taken that port, Start fails and says so.
//
// The server runs with fsync, synchronous_commit and full_page_writes off,
// which makes it fast but lets a machine crash corrupt it: fine for
// development and tests only.
//
// The process that starts the server owns it: Dir/owner.pid holds its pid,
// and its Stop stops the server. If a server is already running in Dir,
// Start adopts it and reports Reused. When its owner is still running (a
// second command next to `make run`), the adopting Cluster is not the
// Owner and its Stop leaves the server running. When its owner has exited
// without stopping it (a crash), the adopting Cluster becomes the Owner.
// The server outlives the Go process unless its owner calls Stop.
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
	c, err := newCluster(opts.Dir, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := c.prepareDir(ctx); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	running, err := c.running(ctx)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if running {
		if err := c.adopt(ctx); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	} else {
		if err := c.initIfNeeded(ctx); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		// Claimed before the server starts, so that a command starting
		// meanwhile finds an owner that is alive.
		if err := c.claim(""); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		if err := c.start(ctx); err != nil {
			c.release()
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	}

	if err := c.waitReady(ctx); err != nil {
		return nil, c.stopAfterFailure(ctx, fmt.Errorf("start postgres: %w", err))
	}
	if err := c.createDatabase(ctx, appDatabase); err != nil {
		return nil, c.stopAfterFailure(ctx, fmt.Errorf("start postgres: %w", err))
	}

	c.logger.InfoContext(ctx, "PostgreSQL ready",
		slog.String("dir", c.Dir), slog.Int("port", c.Port), slog.Bool("reused", c.Reused),
		slog.Int("owner_pid", c.OwnerPID), slog.Duration("elapsed", time.Since(begin)))
	return c, nil
}

// URL returns a postgres:// URL for database dbname on this cluster, as the
// superuser "postgres" over TCP on 127.0.0.1, with TLS disabled (the server
// has none).
func (c *Cluster) URL(dbname string) string {
	return clusterURL(c.Port, dbname)
}

// clusterURL is Cluster.URL for a cluster listening on port.
func clusterURL(port int, dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// SetOwnerNote records note (a server's address, say) in Dir/owner.pid,
// where other processes adopting the server read it as OwnerNote. Only
// the Owner may set it.
func (c *Cluster) SetOwnerNote(note string) error {
	if !c.Owner {
		return fmt.Errorf("set owner note: the PostgreSQL server in %s is owned by pid %d, not this process", c.Dir, c.OwnerPID)
	}
	if err := c.claim(note); err != nil {
		return fmt.Errorf("set owner note: %w", err)
	}
	c.OwnerNote = note
	return nil
}

// Stop stops the server, if this Cluster is its Owner, with
// `pg_ctl stop -m fast`, which disconnects clients and rolls back their
// open transactions, and waits until it is down. A server owned by another
// process is left running. It is safe to call more than once and from
// several goroutines; later calls return nil. Stopping a server that is
// already down is not an error. A cluster started by StartTemp has its
// directory removed too, once the server is down: a Stop that fails to stop
// the server leaves it, and a later Stop tries the removal again.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.stopped {
		return c.removeTempDir()
	}
	if !c.Owner {
		c.stopped = true
		c.logger.InfoContext(ctx, "Leaving PostgreSQL running for its owner",
			slog.String("dir", c.Dir), slog.Int("port", c.Port), slog.Int("owner_pid", c.OwnerPID))
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
	c.release()
	c.logger.InfoContext(ctx, "PostgreSQL stopped", slog.String("dir", c.Dir), slog.Int("port", c.Port))
	return c.removeTempDir()
}

// removeTempDir removes the directory of a cluster StartTemp started, once.
func (c *Cluster) removeTempDir() error {
	if !c.removeDir {
		return nil
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	c.removeDir = false
	return nil
}

// Restart restarts the server with `pg_ctl restart -m mode`, on the same
// port with the same options, and waits until it accepts connections
// again. mode is "fast" (clients are disconnected and their open
// transactions rolled back, then a clean shutdown) or "immediate" (every
// server process is killed at once, and the server recovers from its WAL
// as after a crash). Only the Owner may restart the server.
func (c *Cluster) Restart(ctx context.Context, mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mode != "fast" && mode != "immediate" {
		return fmt.Errorf("restart postgres: mode %q is not fast or immediate", mode)
	}
	if !c.Owner || c.stopped {
		return fmt.Errorf("restart postgres: the server in %s is not running for this process (owner pid %d)", c.Dir, c.OwnerPID)
	}
	if out, err := c.pgCtl(ctx, "restart", "-D", c.DataDir, "-l", c.LogFile, "-m", mode, "-w", "-t", pgCtlStartTimeout, "-s"); err != nil {
		return fmt.Errorf("restart postgres: pg_ctl restart -m %s: %s: %w", mode, strings.TrimSpace(out), err)
	}
	if err := c.waitReady(ctx); err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	c.logger.InfoContext(ctx, "PostgreSQL restarted", slog.String("dir", c.Dir), slog.Int("port", c.Port), slog.String("mode", mode))
	return nil
}

// newCluster describes the cluster in dir, finding the binaries and the OS
// user to run them as. A nil logger discards messages.
func newCluster(dir string, logger *slog.Logger) (*Cluster, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	runAs, err := currentOSUser()
	if err != nil {
		return nil, err
	}
	return &Cluster{
		Dir:     dir,
		DataDir: filepath.Join(dir, "pgdata"),
		LogFile: filepath.Join(dir, "postgres.log"),
		binDir:  binDir,
		osUser:  runAs,
		logger:  logger,
	}, nil
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

// start starts the server with pg_ctl on the cluster's port: the one in
// Dir/port or, on the first start, a free one, retrying with another when
// the chosen one was taken in the meantime, and then stored in Dir/port.
func (c *Cluster) start(ctx context.Context) error {
	stored, err := readPortFile(c.portFile())
	if err != nil {
		return err
	}
	if stored != 0 {
		if err := portFree(stored); err != nil {
			return c.portTakenError(stored, err)
		}
	}
	if err := c.chooseSocketDir(ctx); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		port := stored
		if port == 0 {
			if port, err = freePort(); err != nil {
				c.removeTempSocketDir()
				return err
			}
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
			if stored == 0 {
				if err := os.WriteFile(c.portFile(), []byte(strconv.Itoa(port)+"\n"), 0o600); err != nil {
					return fmt.Errorf("store port: %w", err)
				}
			}
			return nil
		}

		serverLog := readFrom(c.LogFile, logOffset)
		portTaken := strings.Contains(serverLog, "already in use")
		if stored == 0 && attempt < startAttempts && ctx.Err() == nil && portTaken {
			c.logger.WarnContext(ctx, "PostgreSQL port taken before the server could bind it; retrying", slog.Int("port", port))
			continue
		}
		// pg_ctl may have given up waiting while the server still starts.
		if running, statusErr := c.running(context.WithoutCancel(ctx)); statusErr == nil && running {
			_, _ = c.pgCtl(context.WithoutCancel(ctx), "stop", "-D", c.DataDir, "-m", "immediate", "-w", "-s")
		}
		c.removeTempSocketDir()
		if stored != 0 && portTaken {
			return c.portTakenError(stored, errors.New(tail(serverLog, logTailLines)))
		}
		if serverLog == "" {
			serverLog = readFrom(c.LogFile, 0)
		}
		return fmt.Errorf("pg_ctl start: %s\n%s tail:\n%s: %w",
			strings.TrimSpace(out), c.LogFile, tail(serverLog, logTailLines), err)
	}
}

// portTakenError says that another program listens on the cluster's port.
func (c *Cluster) portTakenError(port int, err error) error {
	return fmt.Errorf("port %d, which the cluster in %s always uses (it is stored in %s), is taken by another program: "+
		"stop that program, or delete %s to have a new free port chosen (the cluster's URL changes then): %w",
		port, c.Dir, c.portFile(), c.portFile(), err)
}

// portFile is the path of the file holding the cluster's port.
func (c *Cluster) portFile() string { return filepath.Join(c.Dir, portFileName) }

// ownerFile is the path of the file naming the server's owner.
func (c *Cluster) ownerFile() string { return filepath.Join(c.Dir, ownerFileName) }

// readPortFile returns the port stored at path, or 0 if there is none yet.
func readPortFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cluster port: %w", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("read cluster port: %s holds %q, not a port (delete it to have a new one chosen)", path, strings.TrimSpace(string(data)))
	}
	return port, nil
}

// portFree reports an error if port on 127.0.0.1 cannot be listened on.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// owner is what Dir/owner.pid says: the owner's pid and its note.
type owner struct {
	pid  int
	note string
}

// readOwner reads the owner file at path.
func readOwner(path string) (owner, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return owner{}, fmt.Errorf("read owner of running server: %w", err)
	}
	pidLine, note, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(pidLine))
	if err != nil {
		return owner{}, fmt.Errorf("read owner of running server from %s: %w", path, err)
	}
	return owner{pid: pid, note: strings.TrimSpace(note)}, nil
}

// claim makes this process the server's Owner, recording its pid and note
// in the owner file.
func (c *Cluster) claim(note string) error {
	pid := os.Getpid()
	if err := os.WriteFile(c.ownerFile(), []byte(strconv.Itoa(pid)+"\n"+note+"\n"), 0o600); err != nil {
		return fmt.Errorf("record owner of the server: %w", err)
	}
	c.Owner, c.OwnerPID, c.OwnerNote = true, pid, note
	return nil
}

// release removes the owner file if it names this process (and not one
// that claimed the directory since).
func (c *Cluster) release() {
	if o, err := readOwner(c.ownerFile()); err == nil && o.pid == os.Getpid() {
		_ = os.Remove(c.ownerFile())
	}
}

// adopt fills Port and SocketDir from the postmaster.pid of the server
// already running in DataDir, and its owner from the owner file: the
// process named there if it is alive, else this one.
func (c *Cluster) adopt(ctx context.Context) error {
	port, socketDir, err := readPostmasterPid(c.DataDir)
	if err != nil {
		return err
	}
	c.Port, c.SocketDir, c.Reused = port, socketDir, true

	o, err := readOwner(c.ownerFile())
	if err == nil && processAlive(o.pid) {
		c.OwnerPID, c.OwnerNote = o.pid, o.note
		c.logger.InfoContext(ctx, "Using PostgreSQL server owned by another process; it stays running after this one",
			slog.String("dir", c.Dir), slog.Int("port", c.Port), slog.Int("owner_pid", o.pid))
		return nil
	}
	if err := c.claim(""); err != nil {
		return err
	}
	c.logger.InfoContext(ctx, "Taking over PostgreSQL server left running by a process that exited",
		slog.String("dir", c.Dir), slog.Int("port", c.Port))
	return nil
}

// readPostmasterPid returns the port and socket directory of the server
// running in dataDir, from its postmaster.pid.
func readPostmasterPid(dataDir string) (port int, socketDir string, err error) {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, "", fmt.Errorf("read port of running server: %w", err)
	}
	// Lines: pid, data directory, start time, port, socket directory,
	// listen address, shared memory key, status.
	lines := strings.Split(string(data), "\n")
	if len(lines) < 5 {
		return 0, "", fmt.Errorf("read port of running server: %s has %d lines, want at least 5", pidFile, len(lines))
	}
	port, err = strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, "", fmt.Errorf("read port of running server from %s: %w", pidFile, err)
	}
	return port, strings.TrimSpace(lines[4]), nil
}

// State describes the cluster in a data directory, as Inspect finds it.
type State struct {
	// Port is the cluster's TCP port, or 0 if it was never started.
	Port int

	// Running reports that the server is running.
	Running bool

	// OwnerPID and OwnerNote describe the process that owns the running
	// server (see Cluster); both are zero when it is not running or its
	// owner exited.
	OwnerPID  int
	OwnerNote string
}

// URL is Cluster.URL for the cluster described; it is only meaningful when
// Port is not 0.
func (s State) URL(dbname string) string { return clusterURL(s.Port, dbname) }

// Inspect describes the cluster in dir without starting, stopping or
// changing anything.
func Inspect(ctx context.Context, dir string) (State, error) {
	c, err := newCluster(dir, nil)
	if err != nil {
		return State{}, fmt.Errorf("inspect postgres: %w", err)
	}
	var st State
	if st.Port, err = readPortFile(c.portFile()); err != nil {
		return State{}, fmt.Errorf("inspect postgres: %w", err)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION")); err != nil {
		return st, nil // not initialized: nothing can run
	}
	if st.Running, err = c.running(ctx); err != nil {
		return State{}, fmt.Errorf("inspect postgres: %w", err)
	}
	if !st.Running {
		return st, nil
	}
	if st.Port, _, err = readPostmasterPid(c.DataDir); err != nil {
		return State{}, fmt.Errorf("inspect postgres: %w", err)
	}
	if o, err := readOwner(c.ownerFile()); err == nil && processAlive(o.pid) {
		st.OwnerPID, st.OwnerNote = o.pid, o.note
	}
	return st, nil
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
