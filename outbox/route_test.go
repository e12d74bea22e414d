package outbox_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"

	"github.com/mohallamart/backend/events"
)

// TestPublishRoutesEveryCatalogEvent checks the routing table: each catalog
// event enqueues exactly the documented kinds, in their queues, and queues
// the tracked events for analytics.
func TestPublishRoutesEveryCatalogEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    string
		jobs    []jobRow
		tracked bool
	}{
		{events.NameUserCreated, `{"userId":"10000000-0000-4000-8000-000000000001","email":"a@example.com","name":"A"}`,
			[]jobRow{{"send_welcome_email", "email"}}, true},
		{events.NameUserUpdated, `{"userId":"10000000-0000-4000-8000-000000000001","name":"B"}`, nil, true},
		{events.NameUserDeleted, `{"userId":"10000000-0000-4000-8000-000000000001"}`, []jobRow{{"cleanup_expired_sessions", "maintenance"}}, true},
		{events.NameOrderCreated, `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":100}],"totalPaise":100}`,
			[]jobRow{{"send_order_confirmation", "email"}}, true},
		{events.NameOrderUpdated, `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","status":"confirmed","previousStatus":"placed"}`,
			[]jobRow{{"send_order_update", "email"}, {"remind_stalled_order", "notifications"}}, false},
		{events.NameOrderCancelled, `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","reason":"late"}`,
			[]jobRow{{"send_order_update", "email"}}, true},
		{events.NameProductCreated, `{"productId":"40000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","name":"Atta"}`, []jobRow{{"index_product", "search"}}, false},
		{events.NameProductUpdated, `{"productId":"40000000-0000-4000-8000-000000000001","stock":3}`, []jobRow{{"index_product", "search"}}, false},
		{events.NameProductOutOfStock, `{"productId":"40000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","name":"Atta"}`,
			[]jobRow{{"process_out_of_stock_alert", "notifications"}}, false},
		{events.NameNotificationSend, `{"channel":"sms","to":"+919876543210","message":"hi"}`,
			[]jobRow{{"send_notification", "notifications"}}, false},
		{events.NameAnalyticsTrack, `{"event":"page_view","userId":"10000000-0000-4000-8000-000000000001"}`, nil, true},
		{events.NameSearchIndex, `{"type":"shop","id":"20000000-0000-4000-8000-000000000001"}`, []jobRow{{"index_shop", "search"}}, false},
		{events.NameCleanupExpiredSessions, `{}`, []jobRow{{"cleanup_expired_sessions", "maintenance"}}, false},
		{events.NameCleanupOldLogs, `{"olderThanDays":7}`, []jobRow{{"cleanup_old_logs", "maintenance"}}, false},
	}
	require.Len(t, tests, len(events.Names()), "every catalog event has a routing row")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			tx := dbtest.TestTx(ctx, t)
			ids, err := newOutbox(t).Publish(ctx, tx, events.Event{Name: tt.name, Data: json.RawMessage(tt.data)})
			require.NoError(t, err)
			require.ElementsMatch(t, tt.jobs, jobsOf(ctx, t, tx, ids[0]))
			require.Equal(t, tt.tracked, tracked(ctx, t, tx, ids[0]), "queued for analytics")
		})
	}
}

// TestPublishRemindsOfConfirmedOrdersOnly: an order/updated to confirmed
// also starts remind_stalled_order; any other status does not.
func TestPublishRemindsOfConfirmedOrdersOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	ids, err := newOutbox(t).Publish(ctx, tx, events.Event{Name: events.NameOrderUpdated,
		Data: json.RawMessage(`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","status":"packed","previousStatus":"confirmed"}`)})
	require.NoError(t, err)
	require.Equal(t, []jobRow{{"send_order_update", "email"}}, jobsOf(ctx, t, tx, ids[0]))
}
