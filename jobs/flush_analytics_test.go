package jobs_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/analytics/mixpanel"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// importBatch is the body of one Mixpanel Import request.
type importBatch []struct {
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

func decodeBatch(t *testing.T, r recorded) importBatch {
	t.Helper()
	var b importBatch
	require.NoError(t, json.Unmarshal(r.Body, &b))
	return b
}

// flush inserts a flush_analytics job (the periodic job does so every
// second in the server) and waits for it to finish.
func flush(t *testing.T, b *testBundle, n int) []*rivertype.JobRow {
	t.Helper()
	_, err := b.client.Insert(t.Context(), jobargs.FlushAnalyticsArgs{}, nil)
	require.NoError(t, err)
	return b.waitJobs(t, "flush_analytics", n)
}

// expireLeases makes every claim of analytics_pending rows end at once, as
// if its lease had passed: the retries in these tests come back sooner.
func expireLeases(t *testing.T, b *testBundle) {
	t.Helper()
	_, err := b.pool.Exec(t.Context(), `
		CREATE FUNCTION expire_lease() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.claimed_until := now() - interval '1 second'; RETURN NEW; END $$;
		CREATE TRIGGER expire_lease BEFORE UPDATE ON analytics_pending FOR EACH ROW EXECUTE FUNCTION expire_lease();`)
	require.NoError(t, err)
}

func pending(t *testing.T, b *testBundle) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT count(*) FROM analytics_pending`).Scan(&n))
	return n
}

// TestFlushAnalyticsPostgres: tracked events land in analytics_events, an
// analytics/track event under its own name, user and properties, a catalog
// event under its name with its data as properties.
func TestFlushAnalyticsPostgres(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{})
	ids := publish(t, b, events.AnalyticsTrack{Event: "Cart Viewed", UserID: "u-9", Properties: map[string]any{"items": 3}})
	u, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "pg@example.com", Name: "Pg"})
	require.NoError(t, err)

	rows := flush(t, b, 1)
	require.Equal(t, rivertype.JobStateCompleted, rows[0].State)
	require.Zero(t, pending(t, b))

	var name, user string
	var props json.RawMessage
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT name, user_id, properties FROM analytics_events WHERE event_id = $1`, ids[0]).Scan(&name, &user, &props))
	require.Equal(t, "Cart Viewed", name)
	require.Equal(t, "u-9", user)
	require.JSONEq(t, `{"items": 3}`, string(props))
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT name, user_id FROM analytics_events WHERE event_id = $1`, eventIDOf(t, b.pool, "user/created")).Scan(&name, &user))
	require.Equal(t, "user/created", name)
	require.Equal(t, u.ID, user)
}

// TestFlushAnalyticsMixpanelBatches: 4,500 tracked events go to Mixpanel
// in three Import requests (2,000 + 2,000 + 500), each event once with its
// own $insert_id.
func TestFlushAnalyticsMixpanelBatches(t *testing.T) {
	t.Parallel()
	fake := newRecorder(t, answer{200, nil, `{"code": 200, "status": "OK"}`})
	sink, err := mixpanel.New(mixpanel.Opts{Token: "mp_token", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setup(t, bundleOpts{deps: jobs.Deps{Analytics: sink}})

	const n = 4500
	payloads := make([]events.Payload, n)
	for i := range payloads {
		payloads[i] = events.AnalyticsTrack{Event: "Page Viewed", UserID: fmt.Sprintf("u-%d", i)}
	}
	ids := publish(t, b, payloads...)

	flush(t, b, 1)
	reqs := fake.Requests()
	require.Len(t, reqs, 3)
	insertIDs := map[string]bool{}
	for i, want := range []int{2000, 2000, 500} {
		require.Equal(t, "/import", reqs[i].Path)
		require.Equal(t, "strict=1", reqs[i].Query)
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("mp_token:")), reqs[i].Header.Get("Authorization"))
		batch := decodeBatch(t, reqs[i])
		require.Len(t, batch, want)
		for _, e := range batch {
			insertIDs[e.Properties["$insert_id"].(string)] = true
		}
	}
	require.Len(t, insertIDs, n, "every event once")
	require.True(t, insertIDs[mixpanel.InsertID(ids[0], "Page Viewed")])
	require.Zero(t, pending(t, b))
}

// TestFlushAnalyticsLostAnswer: Mixpanel imports a batch but the answer is
// lost (a 503 here); the job retries, and once the batch's lease is over it
// is sent again with the same $insert_ids, which Mixpanel deduplicates.
func TestFlushAnalyticsLostAnswer(t *testing.T) {
	t.Parallel()
	fake := newRecorder(t,
		answer{503, nil, `{"code": 503, "error": "service unavailable", "status": "Service Unavailable"}`},
		answer{200, nil, `{"code": 200, "status": "OK"}`},
	)
	sink, err := mixpanel.New(mixpanel.Opts{Token: "mp_token", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setup(t, bundleOpts{deps: jobs.Deps{Analytics: sink}})
	expireLeases(t, b)

	u, err := b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "mp@example.com", Name: "Mp"})
	require.NoError(t, err)
	rows := flush(t, b, 1)
	require.Equal(t, rivertype.JobStateCompleted, rows[0].State)
	require.Equal(t, 2, rows[0].Attempt)
	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	first, second := decodeBatch(t, reqs[0]), decodeBatch(t, reqs[1])
	require.Len(t, second, 1)
	eventID := eventIDOf(t, b.pool, "user/created")
	require.Equal(t, "user/created", second[0].Event)
	require.Equal(t, u.ID, second[0].Properties["distinct_id"])
	require.Equal(t, mixpanel.InsertID(eventID, "user/created"), second[0].Properties["$insert_id"])
	require.Equal(t, first[0].Properties["$insert_id"], second[0].Properties["$insert_id"])
	require.Zero(t, pending(t, b))
}

// TestFlushAnalyticsRateLimitAndRejection: a 429 snoozes the job for its
// Retry-After without using an attempt, and the batch stays queued; a 400
// (invalid events) drops the batch and completes the job.
func TestFlushAnalyticsRateLimitAndRejection(t *testing.T) {
	t.Parallel()
	fake := newRecorder(t,
		answer{429, map[string]string{"Retry-After": "1"}, `{"code": 429, "error": "too many requests", "status": "Too Many Requests"}`},
		answer{400, nil, `{"code": 400, "error": "some data points in the request failed validation", "failed_records": [{"index": 0, "$insert_id": "x", "field": "properties.time", "message": "'properties.time' is invalid"}], "status": "Bad Request"}`},
	)
	sink, err := mixpanel.New(mixpanel.Opts{Token: "mp_token", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setup(t, bundleOpts{deps: jobs.Deps{Analytics: sink}})
	expireLeases(t, b)

	publish(t, b, events.AnalyticsTrack{Event: "First", UserID: "u-1"})
	_, err = b.client.Insert(t.Context(), jobargs.FlushAnalyticsArgs{}, &river.InsertOpts{MaxAttempts: 1})
	require.NoError(t, err)
	rows := b.waitJobs(t, "flush_analytics", 1)
	require.Equal(t, rivertype.JobStateCompleted, rows[0].State)
	require.Equal(t, 1, rows[0].Attempt, "a snooze uses no attempt")
	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	require.GreaterOrEqual(t, reqs[1].At.Sub(reqs[0].At).Seconds(), 1.0, "waited for Retry-After")
	require.Zero(t, pending(t, b), "the refused batch is dropped")
}
