package outbox_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
)

func orderEvent(t *testing.T, name, orderID string) events.Event {
	t.Helper()
	data := map[string]any{"orderId": orderID, "userId": "10000000-0000-4000-8000-000000000001"}
	switch name {
	case events.NameOrderCreated:
		data["shopId"], data["totalPaise"] = "20000000-0000-4000-8000-000000000001", 100
		data["items"] = []map[string]any{{"productId": "40000000-0000-4000-8000-000000000001", "quantity": 1, "pricePaise": 100}}
	case events.NameOrderUpdated:
		data["status"], data["previousStatus"] = "confirmed", "placed"
	}
	b, err := json.Marshal(data)
	require.NoError(t, err)
	return events.Event{Name: name, Data: b}
}

// The orders of TestCancelOn.
const (
	o1 = "30000000-0000-4000-8000-000000000001"
	o2 = "30000000-0000-4000-8000-000000000002"
	o3 = "30000000-0000-4000-8000-000000000003"
)

// TestCancelOn: order/cancelled cancels, in its own transaction, that
// order's confirmation, update emails and reminder that have not started, parked
// (scheduled) ones included, and nothing of other orders; the cancellation
// email itself is enqueued.
func TestCancelOn(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ob := newOutbox(t)

	ids, err := ob.Publish(ctx, tx,
		orderEvent(t, events.NameOrderCreated, o1), orderEvent(t, events.NameOrderUpdated, o1),
		orderEvent(t, events.NameOrderCreated, o2))
	require.NoError(t, err)
	// o1's confirmation is parked: scheduled for later.
	_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour' WHERE args->>'event_id' = $1`, ids[0])
	require.NoError(t, err)

	cancelled, err := ob.Publish(ctx, tx, orderEvent(t, events.NameOrderCancelled, o1))
	require.NoError(t, err)

	state := func(eventID string, kind ...string) string {
		k := "send_order_%"
		if len(kind) > 0 {
			k = kind[0]
		}
		var s string
		require.NoError(t, tx.QueryRow(ctx, `SELECT state FROM river_job WHERE args->>'event_id' = $1 AND kind LIKE $2`, eventID, k).Scan(&s))
		return s
	}
	require.Equal(t, "cancelled", state(ids[0]), "o1's parked confirmation")
	require.Equal(t, "cancelled", state(ids[1]), "o1's pending update email")
	require.Equal(t, "cancelled", state(ids[1], "remind_stalled_order"), "o1's parked stalled-order reminder")
	require.Equal(t, "available", state(ids[2]), "o2's confirmation")
	require.Equal(t, "available", state(cancelled[0]), "the cancellation email")
	var reason string
	require.NoError(t, tx.QueryRow(ctx, `SELECT errors[1]->>'error' FROM river_job WHERE args->>'event_id' = $1`, ids[0]).Scan(&reason))
	require.Equal(t, "cancelled by order/cancelled event "+cancelled[0], reason)

	// Creation and cancellation in one batch: the confirmation never runs.
	batch, err := ob.Publish(ctx, tx, orderEvent(t, events.NameOrderCreated, o3), orderEvent(t, events.NameOrderCancelled, o3))
	require.NoError(t, err)
	require.Equal(t, "cancelled", state(batch[0]))
	require.Equal(t, "available", state(batch[1]))
}
