package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Queued is the result of a one-row query queued in a pgx.Batch by
// QueueRow: it is known once the batch's results are read (the
// pgx.BatchResults closed).
type Queued[T any] struct {
	value T
	err   error
	read  bool
}

// Result returns the query's row, or its error: pgx.ErrNoRows when it
// returned no row, and an error when the batch's results were not read
// (the batch was not sent, or failed before this query's result).
func (q *Queued[T]) Result() (T, error) {
	if !q.read {
		var zero T
		return zero, errors.New("queued query: its batch's results were not read")
	}
	return q.value, q.err
}

// QueueRow queues in b the one query that call makes with the Queries it
// is given (a generated :one method, such as OrderPlace), instead of
// running it, so that it reaches PostgreSQL in one round trip with the
// batch's other statements. Its row is scanned when the batch's results
// are read; Queued.Result returns it. No row is not an error of the batch
// (pgx would then forget the batch's prepared statements), only of Result.
//
// call must make exactly one QueryRow call and no Exec or Query call;
// anything else is an error, and nothing is queued.
func QueueRow[T any](b *pgx.Batch, call func(*Queries) (T, error)) (*Queued[T], error) {
	rec := &rowRecorder{}
	value, err := call(New(rec))
	switch {
	case err != nil:
		return nil, fmt.Errorf("queue query: %w", err)
	case rec.err != nil:
		return nil, rec.err
	case rec.row == nil:
		return nil, errors.New("queue query: it made no QueryRow call")
	}
	out := &Queued[T]{value: value}
	b.Queue(rec.sql, rec.args...).QueryRow(func(row pgx.Row) error {
		out.read = true
		out.err = row.Scan(rec.row.dest...)
		if errors.Is(out.err, pgx.ErrNoRows) {
			return nil
		}
		return out.err
	})
	return out, nil
}

// rowRecorder is the DBTX QueueRow gives the call: it records the one
// QueryRow call, and returns a row that records where to scan.
type rowRecorder struct {
	sql  string
	args []any
	row  *recordedRow
	err  error
}

// errNotQueueable is what rowRecorder answers to Exec and Query.
var errNotQueueable = errors.New("queue query: only a one-row query (QueryRow) can be queued")

func (r *rowRecorder) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	r.err = errNotQueueable
	return pgconn.CommandTag{}, r.err
}

func (r *rowRecorder) Query(context.Context, string, ...any) (pgx.Rows, error) {
	r.err = errNotQueueable
	return nil, r.err
}

func (r *rowRecorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	if r.row != nil {
		r.err = errors.New("queue query: it made more than one QueryRow call")
	}
	r.sql, r.args, r.row = sql, args, &recordedRow{}
	return r.row
}

// recordedRow keeps the destinations a generated method scans into.
type recordedRow struct{ dest []any }

func (r *recordedRow) Scan(dest ...any) error {
	r.dest = dest
	return nil
}
