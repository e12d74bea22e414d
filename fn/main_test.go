package fn_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// registry builds a registry of fns or fails the test.
func registry(t *testing.T, fns ...*fn.Function) *fn.Registry {
	t.Helper()
	reg, err := fn.NewRegistry(fns...)
	require.NoError(t, err)
	return reg
}

// publish publishes evs in tx with reg's routing and returns their ids.
func publish(t *testing.T, tx pgx.Tx, reg *fn.Registry, evs ...events.Event) []string {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	ids, err := outbox.New(client, reg).Publish(t.Context(), tx, evs...)
	require.NoError(t, err)
	return ids
}

// thing is a custom event with data d.
func thing(d map[string]any) events.Event {
	raw, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return events.Event{Name: "test/thing", Data: raw}
}

// run is a run row as a test sees it.
type run struct {
	ID       int64
	State    string
	EventID  string
	Key      string
	Priority int
	Attempts int
}

// runs returns the runs of kind in tx, oldest first.
func runs(t *testing.T, tx pgx.Tx, kind string) []run {
	t.Helper()
	rows, err := tx.Query(t.Context(), `SELECT id, state::text, coalesce(args->>'event_id', ''), coalesce(args->>'key', ''), priority, max_attempts
		FROM river_job WHERE kind = $1 ORDER BY id`, kind)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (run, error) {
		var x run
		err := r.Scan(&x.ID, &x.State, &x.EventID, &x.Key, &x.Priority, &x.Attempts)
		return x, err
	})
	require.NoError(t, err)
	return out
}

// noop is a handler that does nothing.
func noop(context.Context, fn.Input[json.RawMessage]) (any, error) { return nil, nil }
