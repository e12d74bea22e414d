package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded goose migrations: the domain tables, the
// event log and River's own schema, in one history.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Migrator applies the embedded migrations to one database.
//
// Up, Down and DownTo hold goose's PostgreSQL session advisory lock
// (lock.DefaultLockID, per database) while they run, so processes that
// migrate at once take turns: the next one waits for the lock, checking
// every second for up to migrateLockWait, and then finds the migrations
// applied. Status and Pending take no lock, so readiness checks answer
// while a migration runs.
type Migrator struct {
	db *sql.DB
	// provider migrates, under the lock.
	provider *goose.Provider
	// reader reads the applied versions, without the lock.
	reader *goose.Provider
}

// migrateLockWait is how long a migration waits for another process's
// migration to finish before it fails: long enough for an index built
// CONCURRENTLY on a large table.
const migrateLockWait = 30 * time.Minute

// NewMigrator returns a Migrator for the database behind pool. Close it when
// done; that does not close pool.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, uint64(migrateLockWait/time.Second)))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations(), goose.WithSessionLocker(locker))
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	reader, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations())
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: sqlDB, provider: provider, reader: reader}, nil
}

// Close releases the Migrator's connection wrapper.
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := m.provider.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate up: %w", err)
	}
	return res, nil
}

// Down rolls back the newest applied migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	res, err := m.provider.Down(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate down: %w", err)
	}
	return res, nil
}

// DownTo rolls back every migration newer than version (0: all of them).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := m.provider.DownTo(ctx, version)
	if err != nil {
		return res, fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return res, nil
}

// Status lists every migration with whether and when it was applied. It
// does not wait for a migration in progress; one may be half applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	st, err := m.reader.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	return st, nil
}

// Pending reports how many migrations are not applied yet; 0 means the
// schema is current.
func (m *Migrator) Pending(ctx context.Context) (int, error) {
	st, err := m.Status(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if s.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}

// Migrate applies every pending migration to the database behind pool.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	m, err := NewMigrator(pool)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	_, err = m.Up(ctx)
	return err
}
