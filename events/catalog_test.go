package events

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNames(t *testing.T) {
	t.Parallel()

	require.Equal(t, []string{
		NameAnalyticsTrack,
		NameCleanupExpiredSessions,
		NameCleanupOldLogs,
		NameNotificationSend,
		NameOrderCancelled,
		NameOrderCreated,
		NameOrderUpdated,
		NameProductCreated,
		NameProductOutOfStock,
		NameProductUpdated,
		NameSearchIndex,
		NameUserCreated,
		NameUserDeleted,
		NameUserUpdated,
	}, Names())

	// Names returns a new slice each time.
	names := Names()
	names[0] = "changed"
	require.Equal(t, NameAnalyticsTrack, Names()[0])
}

func TestKnown(t *testing.T) {
	t.Parallel()

	for _, name := range Names() {
		require.True(t, Known(name), name)
	}
	for _, name := range []string{"", "user", "user/created/", "User/Created", "app/custom"} {
		require.False(t, Known(name), name)
	}
}

func TestOrderStatuses(t *testing.T) {
	t.Parallel()

	require.Equal(t, []string{"placed", "confirmed", "packed", "out_for_delivery", "delivered", "cancelled"}, OrderStatuses())

	statuses := OrderStatuses()
	statuses[0] = "changed"
	require.Equal(t, "placed", OrderStatuses()[0])
}

// TestCatalogPayloads checks that every spec's payload belongs to it and
// that every catalog event has a test example.
func TestCatalogPayloads(t *testing.T) {
	t.Parallel()

	exs := examples()
	seen := map[reflect.Type]string{}
	for _, spec := range catalog() {
		require.Equal(t, spec.name, spec.payload.EventName())
		require.NotEmpty(t, spec.desc, spec.name)

		typ := reflect.TypeOf(spec.payload)
		require.Equal(t, reflect.Struct, typ.Kind(), spec.name)
		require.NotContains(t, seen, typ, "%s shares its payload type with %s", spec.name, seen[typ])
		seen[typ] = spec.name

		require.Contains(t, exs, spec.name, "catalog event has no test example")
	}
	require.Len(t, exs, len(catalog()))
}
