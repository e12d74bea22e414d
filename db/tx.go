package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DB is a database handle that runs queries and begins transactions.
// *pgxpool.Pool satisfies it, and so does a pgx.Tx, whose Begin makes a
// savepoint: that is how tests run code that begins its own transactions
// inside a test transaction that is rolled back.
type DB interface {
	DBTX
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTx runs fn in a transaction of d and commits it when fn returns nil;
// otherwise it rolls the transaction back and returns fn's error unwrapped.
func InTx(ctx context.Context, d DB, fn func(tx pgx.Tx) error) error {
	tx, err := d.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A no-op after Commit; WithoutCancel so a cancelled ctx still ends the
	// transaction instead of leaving the connection to be reset.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
