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
	sent, err := record(func(q *Queries) error {
		_, err := call(q)
		return err
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("queue query: %w", err)
	case len(sent) == 0:
		return nil, errors.New("queue query: it made no QueryRow call")
	case len(sent) > 1:
		return nil, errors.New("queue query: it made more than one query call")
	case sent[0].Method != "QueryRow":
		return nil, errors.New("queue query: only a one-row query (QueryRow) can be queued")
	}
	out := &Queued[T]{}
	b.Queue(sent[0].SQL, sent[0].Args...).QueryRow(func(row pgx.Row) error {
		out.read = true
		out.value, out.err = call(New(rowDBTX{row}))
		if errors.Is(out.err, pgx.ErrNoRows) {
			return nil
		}
		return out.err
	})
	return out, nil
}

// sentQuery is a query a generated method sends: the DBTX method it calls
// ("Exec", "Query" or "QueryRow"), its SQL and its arguments.
type sentQuery struct {
	Method string
	SQL    string
	Args   []any
}

// record calls call with Queries whose DBTX runs nothing, and returns the
// queries it sent, in order. Each of them fails (a QueryRow's row fails to
// scan) with an error that record does not return; another error of
// call's is returned.
func record(call func(*Queries) error) ([]sentQuery, error) {
	rec := &recorder{}
	if err := call(New(rec)); err != nil && !errors.Is(err, errRecorded) {
		return nil, err
	}
	return rec.sent, nil
}

// errRecorded is how a recorded query fails: it was recorded, not run.
var errRecorded = errors.New("recorded, not run")

// recorder is record's DBTX.
type recorder struct{ sent []sentQuery }

func (r *recorder) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r.sent = append(r.sent, sentQuery{"Exec", sql, args})
	return pgconn.CommandTag{}, errRecorded
}

func (r *recorder) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	r.sent = append(r.sent, sentQuery{"Query", sql, args})
	return nil, errRecorded
}

func (r *recorder) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	r.sent = append(r.sent, sentQuery{"QueryRow", sql, args})
	return recordedRow{}
}

// recordedRow is the row of a recorded query: it scans nothing.
type recordedRow struct{}

func (recordedRow) Scan(...any) error { return errRecorded }

// rowDBTX is the DBTX of QueueRow's second call: its QueryRow returns the
// batch's row.
type rowDBTX struct{ row pgx.Row }

// errNotRow answers rowDBTX's Exec and Query, which QueueRow's check
// keeps from being called.
var errNotRow = errors.New("queued query: only its row can be read")

func (d rowDBTX) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errNotRow
}

func (d rowDBTX) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errNotRow
}

func (d rowDBTX) QueryRow(context.Context, string, ...any) pgx.Row { return d.row }
