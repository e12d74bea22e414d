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
// batch's other statements. call is made twice: once now, to record the
// query, and once when the batch's results are read, to scan its row;
// Queued.Result returns what that second call returned. No row is not an
// error of the batch (pgx would then forget the batch's prepared
// statements), only of Result.
//
// call must make exactly one QueryRow call and no Exec or Query call, and
// have no other effect; anything else is an error, and nothing is queued.
func QueueRow[T any](b *pgx.Batch, call func(*Queries) (T, error)) (*Queued[T], error) {
	rec := &queryRecorder{}
	if _, err := call(New(rec)); err != nil && !errors.Is(err, errRecorded) {
		return nil, fmt.Errorf("queue query: %w", err)
	}
	switch {
	case rec.err != nil:
		return nil, rec.err
	case rec.calls == 0:
		return nil, errors.New("queue query: it made no QueryRow call")
	}
	out := &Queued[T]{}
	b.Queue(rec.sql, rec.args...).QueryRow(func(row pgx.Row) error {
		out.read = true
		out.value, out.err = call(New(rowDBTX{row}))
		if errors.Is(out.err, pgx.ErrNoRows) {
			return nil
		}
		return out.err
	})
	return out, nil
}

// errRecorded is what the row of queryRecorder's QueryRow scans to: the
// query is recorded, not run.
var errRecorded = errors.New("queue query: recorded, not run")

// errNotQueueable is the answer to Exec and Query, which cannot be queued.
var errNotQueueable = errors.New("queue query: only a one-row query (QueryRow) can be queued")

// queryRecorder is the DBTX of QueueRow's first call: it records the
// QueryRow call's query and arguments.
type queryRecorder struct {
	sql   string
	args  []any
	calls int
	err   error
}

func (r *queryRecorder) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	r.err = errNotQueueable
	return pgconn.CommandTag{}, r.err
}

func (r *queryRecorder) Query(context.Context, string, ...any) (pgx.Rows, error) {
	r.err = errNotQueueable
	return nil, r.err
}

func (r *queryRecorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.calls++
	if r.calls > 1 {
		r.err = errors.New("queue query: it made more than one QueryRow call")
	}
	r.sql, r.args = sql, args
	return recordedRow{}
}

// recordedRow is the row of a recorded query: it scans nothing.
type recordedRow struct{}

func (recordedRow) Scan(...any) error { return errRecorded }

// rowDBTX is the DBTX of QueueRow's second call: its QueryRow returns the
// batch's row.
type rowDBTX struct{ row pgx.Row }

func (d rowDBTX) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errNotQueueable
}

func (d rowDBTX) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errNotQueueable
}

func (d rowDBTX) QueryRow(context.Context, string, ...any) pgx.Row { return d.row }
