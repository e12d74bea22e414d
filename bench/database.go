package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/internal/pgcluster"
)

// settingNames are the PostgreSQL settings the report records: those that
// change how fast commits, checkpoints and sorts are.
var settingNames = []string{ //nolint:gochecknoglobals // a constant list
	"shared_buffers", "synchronous_commit", "fsync", "full_page_writes", "wal_level",
	"max_connections", "work_mem", "maintenance_work_mem", "effective_cache_size",
	"checkpoint_timeout", "max_wal_size", "checkpoint_completion_target",
	"track_commit_timestamp",
}

// databases hands out fresh, migrated databases on one PostgreSQL server:
// BENCH_DATABASE_URL, or a private cluster in a temporary directory.
type databases struct {
	adminURL string
	cluster  *pgcluster.Cluster
	tmpDir   string
	prefix   string // of every database this run creates
	template string // migrated once, cloned for each fresh database

	// commitTimestamps says track_commit_timestamp is on, so latencies can
	// start at the commit of the write (pg_xact_commit_timestamp).
	commitTimestamps bool

	mu      sync.Mutex
	created []string
	seq     int
}

// openDatabases connects to BENCH_DATABASE_URL or starts a private cluster
// (with track_commit_timestamp on), and migrates a template database.
//
// With statements, the private cluster loads pg_stat_statements and the
// extension is created in the admin database (with BENCH_DATABASE_URL, the
// server must load it already).
func openDatabases(ctx context.Context, logger *slog.Logger, statements bool) (*databases, error) {
	d := &databases{adminURL: os.Getenv("BENCH_DATABASE_URL"), prefix: "bench_" + randomHex(4) + "_"}
	if d.adminURL == "" {
		if err := d.startCluster(ctx, logger, statements); err != nil {
			return nil, err
		}
	}
	if statements {
		if err := d.exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
			d.close(ctx)
			return nil, fmt.Errorf("-profile needs pg_stat_statements (shared_preload_libraries): %w", err)
		}
	}
	conn, err := pgx.Connect(ctx, d.adminURL)
	if err != nil {
		d.close(ctx)
		return nil, fmt.Errorf("connect to %s: %w", redact(d.adminURL), err)
	}
	var track string
	err = conn.QueryRow(ctx, "SHOW track_commit_timestamp").Scan(&track)
	_ = conn.Close(ctx)
	if err != nil {
		d.close(ctx)
		return nil, fmt.Errorf("read track_commit_timestamp: %w", err)
	}
	d.commitTimestamps = track == "on"

	d.template, err = d.create(ctx, "")
	if err != nil {
		d.close(ctx)
		return nil, err
	}
	if err := d.withPool(ctx, d.template, func(pool *pgxpool.Pool) error { return db.Migrate(ctx, pool) }); err != nil {
		d.close(ctx)
		return nil, fmt.Errorf("migrate template: %w", err)
	}
	return d, nil
}

// startCluster starts a private cluster in a temporary directory, then
// restarts it with track_commit_timestamp on (a setting read at start).
func (d *databases) startCluster(ctx context.Context, logger *slog.Logger, statements bool) error {
	var err error
	d.tmpDir, err = os.MkdirTemp("", "mohallamart-bench-pg-")
	if err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	d.cluster, err = pgcluster.Start(ctx, pgcluster.Opts{Dir: d.tmpDir, Logger: logger})
	if err != nil {
		_ = os.RemoveAll(d.tmpDir)
		return fmt.Errorf("BENCH_DATABASE_URL is unset and a private cluster could not start: %w", err)
	}
	conn, err := pgx.Connect(ctx, d.cluster.URL("postgres"))
	if err != nil {
		d.close(ctx)
		return fmt.Errorf("connect to private cluster: %w", err)
	}
	_, err = conn.Exec(ctx, "ALTER SYSTEM SET track_commit_timestamp = on")
	if err == nil && statements {
		_, err = conn.Exec(ctx, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
	}
	_ = conn.Close(ctx)
	if err != nil {
		d.close(ctx)
		return fmt.Errorf("turn on track_commit_timestamp: %w", err)
	}
	if err := d.cluster.Stop(ctx); err != nil {
		d.close(ctx)
		return err
	}
	d.cluster, err = pgcluster.Start(ctx, pgcluster.Opts{Dir: d.tmpDir, Logger: logger})
	if err != nil {
		_ = os.RemoveAll(d.tmpDir)
		return fmt.Errorf("restart private cluster: %w", err)
	}
	d.adminURL = d.cluster.URL("postgres")
	return nil
}

// fresh creates a migrated database (a clone of the template) and returns
// its URL.
func (d *databases) fresh(ctx context.Context) (string, error) {
	return d.freshFrom(ctx, d.template)
}

// freshFrom creates a database cloned from template and returns its URL.
func (d *databases) freshFrom(ctx context.Context, template string) (string, error) {
	name, err := d.create(ctx, template)
	if err != nil {
		return "", err
	}
	return d.url(name), nil
}

// create creates an empty database, or a clone of template, and returns
// its name.
func (d *databases) create(ctx context.Context, template string) (string, error) {
	d.mu.Lock()
	d.seq++
	name := fmt.Sprintf("%s%d", d.prefix, d.seq)
	d.created = append(d.created, name)
	d.mu.Unlock()
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if err := d.exec(ctx, sql); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return name, nil
}

// drop removes the database behind url, disconnecting its clients.
func (d *databases) drop(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	return d.dropName(ctx, u.Path[1:])
}

func (d *databases) dropName(ctx context.Context, name string) error {
	if err := d.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// nameOf returns the database name in url.
func nameOf(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || len(u.Path) < 2 {
		return ""
	}
	return u.Path[1:]
}

func (d *databases) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, d.adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// withPool runs fn with a pool on database name.
func (d *databases) withPool(ctx context.Context, name string, fn func(*pgxpool.Pool) error) error {
	pool, err := pgxpool.New(ctx, d.url(name))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", name, err)
	}
	defer pool.Close()
	return fn(pool)
}

// url is the URL of database name on the server.
func (d *databases) url(name string) string {
	u, err := url.Parse(d.adminURL)
	if err != nil {
		panic(fmt.Sprintf("bench: bad database URL: %v", err)) // parsed by pgx.Connect before
	}
	u.Path = "/" + name
	return u.String()
}

// serverInfo reads the server version and the settings that matter.
func (d *databases) serverInfo(ctx context.Context) (string, map[string]string, error) {
	conn, err := pgx.Connect(ctx, d.adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return "", nil, fmt.Errorf("read server_version: %w", err)
	}
	settings := make(map[string]string, len(settingNames))
	for _, name := range settingNames {
		var v string
		if err := conn.QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
			return "", nil, fmt.Errorf("read %s: %w", name, err)
		}
		settings[name] = v
	}
	return version, settings, nil
}

// close drops every database this run created and stops the private
// cluster, if any.
func (d *databases) close(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	if d.cluster == nil {
		// A shared server: leave nothing behind.
		d.mu.Lock()
		names := slices.Clone(d.created)
		d.mu.Unlock()
		for _, name := range names {
			if err := d.dropName(ctx, name); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
		}
		return
	}
	if err := d.cluster.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	_ = os.RemoveAll(d.tmpDir)
}

// source describes where the databases live, without credentials.
func (d *databases) source() string {
	if d.cluster != nil {
		return "private cluster (internal/pgcluster, fsync/synchronous_commit/full_page_writes off)"
	}
	return "BENCH_DATABASE_URL " + redact(d.adminURL)
}

// redact drops the password from a database URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
