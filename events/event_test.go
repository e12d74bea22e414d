package events

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	t.Parallel()

	t.Run("Examples", func(t *testing.T) {
		t.Parallel()

		for name, ex := range examples() {
			t.Run(name, func(t *testing.T) {
				t.Parallel()

				p, err := Decode(Event{Name: name, Data: json.RawMessage(ex.data)})
				require.NoError(t, err)
				require.IsType(t, ex.payload, p)
				require.Equal(t, ex.payload, p)
				require.Equal(t, name, p.EventName())
			})
		}
	})

	t.Run("NoDataForEventWithoutFields", func(t *testing.T) {
		t.Parallel()

		for _, data := range []json.RawMessage{nil, json.RawMessage(""), json.RawMessage(" null ")} {
			p, err := Decode(Event{Name: NameCleanupExpiredSessions, Data: data})
			require.NoError(t, err)
			require.Equal(t, CleanupExpiredSessions{}, p)

			p, err = Decode(Event{Name: NameCleanupOldLogs, Data: data})
			require.NoError(t, err)
			require.Equal(t, CleanupOldLogs{}, p)
		}
	})

	t.Run("TypeSwitch", func(t *testing.T) {
		t.Parallel()

		p, err := Decode(Event{Name: NameOrderUpdated, Data: json.RawMessage(
			`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","status":"packed","previousStatus":"confirmed"}`)})
		require.NoError(t, err)

		switch p := p.(type) {
		case OrderUpdated:
			require.Equal(t, "packed", p.Status)
		default:
			require.Failf(t, "wrong payload type", "%T", p)
		}
	})

	// Tolerant reader: a sender may add fields; Decode ignores them, so the
	// payload is the same as without them.
	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		t.Parallel()

		for name, ex := range examples() {
			data := map[string]any{}
			require.NoError(t, json.Unmarshal([]byte(ex.data), &data))
			data["addedByTheWebApp"] = map[string]any{"userId": "someone-else", "n": 1}
			data["couponCode"] = "DIWALI"
			raw, err := json.Marshal(data)
			require.NoError(t, err)

			p, err := Decode(Event{Name: name, Data: raw})
			require.NoError(t, err, name)
			require.Equal(t, ex.payload, p, name)
		}
	})

	t.Run("CustomEvent", func(t *testing.T) {
		t.Parallel()

		p, err := Decode(Event{Name: "app/custom", Data: json.RawMessage(`{"any":"thing"}`)})
		require.NoError(t, err)
		require.Nil(t, p)
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()

		p, err := Decode(Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001"}`)})
		require.Nil(t, p)
		var verr *ValidationError
		require.ErrorAs(t, err, &verr)
		require.EqualError(t, err, "data.email: is required; data.name: is required")
	})

	t.Run("InvalidCustomEvent", func(t *testing.T) {
		t.Parallel()

		p, err := Decode(Event{Name: "app/custom", Data: json.RawMessage(`[]`)})
		require.Nil(t, p)
		require.EqualError(t, err, "data: must be an object")
	})
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()

		for name, ex := range examples() {
			t.Run(name, func(t *testing.T) {
				t.Parallel()

				ev, err := New(ex.payload)
				require.NoError(t, err)
				require.Equal(t, name, ev.Name)
				require.Empty(t, ev.ID)
				require.True(t, ev.TS.IsZero())
				require.Empty(t, ev.Source)
				require.JSONEq(t, ex.data, string(ev.Data))

				require.NoError(t, Validate(ev))
				p, err := Decode(ev)
				require.NoError(t, err)
				require.Equal(t, ex.payload, p)
			})
		}
	})

	t.Run("Pointer", func(t *testing.T) {
		t.Parallel()

		ev, err := New(&UserDeleted{UserID: "10000000-0000-4000-8000-000000000001"})
		require.NoError(t, err)
		require.Equal(t, Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001"}`)}, ev)
	})

	t.Run("OmitsUnsetOptionalFields", func(t *testing.T) {
		t.Parallel()

		ev, err := New(ProductUpdated{ProductID: "40000000-0000-4000-8000-000000000001", Stock: ptr(0)})
		require.NoError(t, err)
		require.JSONEq(t, `{"productId":"40000000-0000-4000-8000-000000000001","stock":0}`, string(ev.Data))
		require.NoError(t, Validate(ev))
	})

	t.Run("ZeroPayloadIsBuiltButInvalid", func(t *testing.T) {
		t.Parallel()

		ev, err := New(UserCreated{})
		require.NoError(t, err)
		require.EqualError(t, Validate(ev),
			"data.userId: must not be empty; data.email: must not be empty; data.name: must not be empty")
	})

	t.Run("NilPayload", func(t *testing.T) {
		t.Parallel()

		_, err := New(nil)
		require.EqualError(t, err, "error building event: payload is nil")
	})

	t.Run("NilPointerPayload", func(t *testing.T) {
		t.Parallel()

		_, err := New((*UserCreated)(nil))
		require.EqualError(t, err, "error building event: payload *events.UserCreated is a nil pointer")
	})

	t.Run("MarshalError", func(t *testing.T) {
		t.Parallel()

		_, err := New(AnalyticsTrack{Event: "x", Properties: map[string]any{"bad": make(chan int)}})
		require.ErrorContains(t, err, "error marshaling analytics/track payload: ")
	})
}
