package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/events"
)

// eventPage is a GET /v1/events answer.
type eventPage struct {
	Events []struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Data       json.RawMessage `json:"data"`
		ReceivedAt time.Time       `json:"receivedAt"`
	} `json:"events"`
	NextCursor *string `json:"nextCursor"`
}

func (p eventPage) ids() []string {
	out := []string{}
	for _, e := range p.Events {
		out = append(out, e.ID)
	}
	return out
}

// listEvents reads GET /v1/events with query q.
func (b *testBundle) listEvents(t *testing.T, q url.Values) eventPage {
	t.Helper()
	r := b.do(t, "GET", "/v1/events?"+q.Encode(), apiKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var p eventPage
	require.NoError(t, json.Unmarshal(r.body, &p))
	return p
}

// sendEvents posts events and sets each one's received_at: the ids given
// as keys, received at base plus the minutes given.
func (b *testBundle) sendEvents(t *testing.T, base time.Time, evs map[string]struct {
	name    string
	minutes int
},
) {
	t.Helper()
	for id, ev := range evs {
		body := map[string]any{"name": ev.name, "id": id, "data": map[string]any{}}
		if ev.name == "user/created" {
			body = userCreated(id, id+"@example.com")
		}
		r := b.do(t, "POST", "/v1/events", testKey, body)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		_, err := b.pool.Exec(context.WithoutCancel(t.Context()), "UPDATE events SET received_at = $1 WHERE id = $2",
			base.Add(time.Duration(ev.minutes)*time.Minute), id)
		require.NoError(t, err)
	}
}

func TestBrowseEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	type ev = struct {
		name    string
		minutes int
	}
	b.sendEvents(t, base, map[string]ev{
		"e1": {"user/created", 1},
		"e2": {"app/custom", 2},
		"e3": {"user/created", 3},
		"e4": {"app/custom", 4},
		"e5": {"user/created", 5},
		// e6 and e7 arrive at the same moment: the id breaks the tie.
		"e6": {"app/custom", 6},
		"e7": {"app/custom", 6},
	})

	t.Run("NewestFirst", func(t *testing.T) {
		p := b.listEvents(t, nil)
		require.Equal(t, []string{"e7", "e6", "e5", "e4", "e3", "e2", "e1"}, p.ids())
		require.Nil(t, p.NextCursor, "one page holds them all")
		require.JSONEq(t, `{}`, string(p.Events[0].Data))
		require.Equal(t, base.Add(6*time.Minute), p.Events[0].ReceivedAt.UTC())
	})

	t.Run("ByName", func(t *testing.T) {
		p := b.listEvents(t, url.Values{"name": {"user/created"}})
		require.Equal(t, []string{"e5", "e3", "e1"}, p.ids())
		require.Equal(t, "user/created", p.Events[0].Name)
		require.Empty(t, b.listEvents(t, url.Values{"name": {"order/created"}}).ids())
	})

	t.Run("ByTimeRange", func(t *testing.T) {
		// since is inclusive, until exclusive.
		p := b.listEvents(t, url.Values{"since": {base.Add(2 * time.Minute).Format(time.RFC3339)}, "until": {base.Add(5 * time.Minute).Format(time.RFC3339)}})
		require.Equal(t, []string{"e4", "e3", "e2"}, p.ids())
		ist := base.Add(5 * time.Minute).In(time.FixedZone("IST", 5*3600+1800)).Format(time.RFC3339)
		require.Equal(t, []string{"e7", "e6", "e5"}, b.listEvents(t, url.Values{"since": {ist}}).ids(), "any offset")
	})

	t.Run("ByJobState", func(t *testing.T) {
		// Without workers every job waits: the user/created events have
		// one available job each; the custom events have none.
		require.Equal(t, []string{"e5", "e3", "e1"}, b.listEvents(t, url.Values{"jobState": {"available"}}).ids())
		require.Empty(t, b.listEvents(t, url.Values{"jobState": {"completed"}}).ids())
		_, err := b.pool.Exec(context.WithoutCancel(t.Context()),
			"UPDATE river_job SET state = 'discarded', finalized_at = now() WHERE args ->> 'event_id' = 'e3'")
		require.NoError(t, err)
		require.Equal(t, []string{"e3"}, b.listEvents(t, url.Values{"jobState": {"discarded"}}).ids())
		require.Equal(t, []string{"e5", "e1"}, b.listEvents(t, url.Values{"jobState": {"available"}}).ids())
		require.Equal(t, []string{"e3"}, b.listEvents(t, url.Values{"jobState": {"discarded"}, "name": {"user/created"}}).ids())
	})

	t.Run("PagesStableUnderInserts", func(t *testing.T) {
		p := b.listEvents(t, url.Values{"limit": {"3"}})
		require.Equal(t, []string{"e7", "e6", "e5"}, p.ids())
		require.NotNil(t, p.NextCursor)

		// An event received after the first page was read goes on top,
		// not into the later pages.
		b.sendEvents(t, base, map[string]ev{"e8": {"app/custom", 10}})

		p = b.listEvents(t, url.Values{"limit": {"3"}, "cursor": {*p.NextCursor}})
		require.Equal(t, []string{"e4", "e3", "e2"}, p.ids())
		require.NotNil(t, p.NextCursor)
		p = b.listEvents(t, url.Values{"limit": {"3"}, "cursor": {*p.NextCursor}})
		require.Equal(t, []string{"e1"}, p.ids())
		require.Nil(t, p.NextCursor, "the last page")

		// A cursor keeps its filters' place too.
		p = b.listEvents(t, url.Values{"limit": {"1"}, "name": {"app/custom"}})
		require.Equal(t, []string{"e8"}, p.ids())
		p = b.listEvents(t, url.Values{"limit": {"2"}, "name": {"app/custom"}, "cursor": {*p.NextCursor}})
		require.Equal(t, []string{"e7", "e6"}, p.ids())
	})

	t.Run("BadParametersAreNamed", func(t *testing.T) {
		for query, field := range map[string]string{
			"limit=0":                "limit",
			"limit=501":              "limit",
			"limit=ten":              "limit",
			"since=yesterday":        "since",
			"until=2026-03-01":       "until",
			"jobState=done":          "jobState",
			"cursor=not-a-cursor":    "cursor",
			"name=a%00b":             "name",
			"colour=red":             "colour",
			"cursor=eyJyIjoxfQ":      "cursor", // {"r":1}
			"since=2026-03-01T10:00": "since",
		} {
			r := b.do(t, "GET", "/v1/events?"+query, apiKey, nil)
			requireError(t, r, http.StatusBadRequest)
			require.Contains(t, r.details(t), field, "%s: %s", query, r.body)
		}
		r := b.do(t, "GET", "/v1/events?limit=0&jobState=done", apiKey, nil)
		requireError(t, r, http.StatusBadRequest)
		require.Len(t, r.details(t), 2, "every bad parameter is named: %s", r.body)
	})

	t.Run("NeedsAnAPIKey", func(t *testing.T) {
		requireError(t, b.do(t, "GET", "/v1/events", "", nil), http.StatusUnauthorized)
		requireError(t, b.do(t, "GET", "/v1/events", testKey, nil), http.StatusForbidden)
	})
}

func TestEventShowsItsDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := b.do(t, "POST", "/v1/events", testKey, userCreated("signup-1", "asha@example.com"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	got := b.do(t, "GET", "/v1/events/signup-1", apiKey, nil)
	require.Equal(t, http.StatusOK, got.status, "%s", got.body)
	require.Equal(t, []any{}, got.json(t)["deliveries"], "nothing sent yet")

	// What the welcome email's send would record (the workers are not
	// running here), and a message of another event.
	ctx := context.WithoutCancel(t.Context())
	_, err := b.pool.Exec(ctx, `INSERT INTO deliveries (event_id, channel, recipient, subject, body, provider, status, idempotency_key)
		VALUES ('signup-1', 'email', 'asha@example.com', 'Welcome to MohallaMart', 'Hi', 'capture', 'captured', 'k1'),
		       ('signup-1', 'push', 'u-1', 'Say hello', 'Hi', 'onesignal', 'sent', 'k2'),
		       ('other', 'email', 'bob@example.com', 'Welcome', 'Hi', 'capture', 'captured', 'k3')`)
	require.NoError(t, err)

	got = b.do(t, "GET", "/v1/events/signup-1", apiKey, nil)
	require.Equal(t, http.StatusOK, got.status, "%s", got.body)
	var ans struct {
		Deliveries []struct {
			ID        int64     `json:"id"`
			Channel   string    `json:"channel"`
			Recipient string    `json:"recipient"`
			Subject   string    `json:"subject"`
			Status    string    `json:"status"`
			Provider  string    `json:"provider"`
			CreatedAt time.Time `json:"createdAt"`
		} `json:"deliveries"`
		Jobs []any `json:"jobs"`
	}
	require.NoError(t, json.Unmarshal(got.body, &ans))
	require.Len(t, ans.Jobs, 1)
	require.Len(t, ans.Deliveries, 2)
	d := ans.Deliveries[0]
	require.Equal(t, []string{"email", "asha@example.com", "Welcome to MohallaMart", "captured", "capture"},
		[]string{d.Channel, d.Recipient, d.Subject, d.Status, d.Provider})
	require.NotZero(t, d.ID)
	require.False(t, d.CreatedAt.IsZero())
	require.Equal(t, []string{"push", "u-1", "sent", "onesignal"},
		[]string{ans.Deliveries[1].Channel, ans.Deliveries[1].Recipient, ans.Deliveries[1].Status, ans.Deliveries[1].Provider})
}

func TestSchemasArePublic(t *testing.T) {
	t.Parallel()
	b := setup(t, nil) // keys configured: the schema routes need none

	r := b.do(t, "GET", "/v1/schemas", "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var list struct {
		Names []string `json:"names"`
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Equal(t, events.Names(), list.Names)

	for _, name := range list.Names {
		r := b.do(t, "GET", "/v1/schemas/"+name, "", nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", name, r.body)
		require.Equal(t, "application/schema+json", r.header.Get("Content-Type"))
		want, ok := events.Schema(name)
		require.True(t, ok)
		require.JSONEq(t, string(want), string(r.body), name)
	}
	var schema map[string]any
	require.NoError(t, json.Unmarshal(b.do(t, "GET", "/v1/schemas/user/created", "", nil).body, &schema))
	require.Equal(t, "user/created", schema["title"])

	requireError(t, b.do(t, "GET", "/v1/schemas/app/custom", "", nil), http.StatusNotFound)
}
