package outbox_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"

	"github.com/mohallamart/backend/events"
)

// TestPublishRoutesEveryCatalogEvent checks the routing table of DESIGN.md:
// each catalog event enqueues exactly the documented kinds, in their queues.
func TestPublishRoutesEveryCatalogEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		jobs []jobRow
	}{
		{events.NameUserCreated, `{"userId":"u1","email":"a@example.com","name":"A"}`,
			[]jobRow{{"send_welcome_email", "email"}, {"track_analytics", "analytics"}}},
		{events.NameUserUpdated, `{"userId":"u1","name":"B"}`, []jobRow{{"track_analytics", "analytics"}}},
		{events.NameUserDeleted, `{"userId":"u1"}`,
			[]jobRow{{"track_analytics", "analytics"}, {"cleanup_expired_sessions", "maintenance"}}},
		{events.NameOrderCreated, `{"orderId":"o1","userId":"u1","shopId":"s1","items":[{"productId":"p1","quantity":1,"pricePaise":100}],"totalPaise":100}`,
			[]jobRow{{"send_order_confirmation", "email"}, {"track_analytics", "analytics"}}},
		{events.NameOrderUpdated, `{"orderId":"o1","userId":"u1","status":"confirmed","previousStatus":"placed"}`,
			[]jobRow{{"send_order_update", "email"}}},
		{events.NameOrderCancelled, `{"orderId":"o1","userId":"u1","reason":"late"}`,
			[]jobRow{{"send_order_update", "email"}, {"track_analytics", "analytics"}}},
		{events.NameProductCreated, `{"productId":"p1","shopId":"s1","name":"Atta"}`, []jobRow{{"index_product", "search"}}},
		{events.NameProductUpdated, `{"productId":"p1","stock":3}`, []jobRow{{"index_product", "search"}}},
		{events.NameProductOutOfStock, `{"productId":"p1","shopId":"s1","name":"Atta"}`,
			[]jobRow{{"process_out_of_stock_alert", "notifications"}}},
		{events.NameNotificationSend, `{"channel":"sms","to":"+919876543210","message":"hi"}`,
			[]jobRow{{"send_notification", "notifications"}}},
		{events.NameAnalyticsTrack, `{"event":"page_view","userId":"u1"}`, []jobRow{{"track_analytics", "analytics"}}},
		{events.NameSearchIndex, `{"type":"shop","id":"s1"}`, []jobRow{{"index_shop", "search"}}},
		{events.NameCleanupExpiredSessions, `{}`, []jobRow{{"cleanup_expired_sessions", "maintenance"}}},
		{events.NameCleanupOldLogs, `{"olderThanDays":7}`, []jobRow{{"cleanup_old_logs", "maintenance"}}},
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
		})
	}
}
