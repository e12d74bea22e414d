package jobs_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/analytics/mixpanel"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/internal/testserver"
	"github.com/mohallamart/backend/jobs"
)

// importBatch is the body of one Mixpanel Import request.
type importBatch []struct {
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

func decodeBatch(t *testing.T, r providerfake.Request) importBatch {
	t.Helper()
	var b importBatch
	require.NoError(t, json.Unmarshal(r.Body, &b))
	return b
}

// pending counts the tracked events waiting for a batch.
func pending(t *testing.T, q db.DBTX) int {
	t.Helper()
	var n int
	require.NoError(t, q.QueryRow(t.Context(), `SELECT count(*) FROM analytics_pending`).Scan(&n))
	return n
}

// mixpanelSink is a Mixpanel client sending to the fake at url.
func mixpanelSink(t *testing.T, url string) *mixpanel.Sink {
	t.Helper()
	sink, err := mixpanel.New(mixpanel.Opts{Token: "mp_token", BaseURL: url})
	require.NoError(t, err)
	return sink
}

// TestTrackAnalyticsIdleServer: a server with nothing to track inserts no
// track-analytics run (no periodic flush); the first tracked event
// schedules the batch's run AnalyticsBatchWait later, and the events
// tracked meanwhile join that batch without a run of their own.
func TestTrackAnalyticsIdleServer(t *testing.T) {
	t.Parallel()
	const wait = time.Hour
	b := setup(t, bundleOpts{periodic: true, deps: jobs.Deps{AnalyticsBatchWait: wait}})
	// The leader is up: it has inserted the periodic jobs due at its start.
	b.waitJobs(t, "scheduled_cleanup", 1)
	require.Zero(t, countJobs(t, b.pool, "track_analytics", ""), "nothing tracked, no run")

	before := time.Now()
	publish(t, b, events.AnalyticsTrack{Event: "First"})
	after := time.Now()
	publish(t, b, events.AnalyticsTrack{Event: "Second"})
	publish(t, b, events.AnalyticsTrack{Event: "Third"})

	runs := listJobs(t, b.pool, "track_analytics")
	require.Len(t, runs, 1, "one run per batch")
	var state string
	var at time.Time
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT state, scheduled_at FROM river_job WHERE id = $1`, runs[0].ID).Scan(&state, &at))
	// Available, not scheduled: River's producers fetch it once its time
	// has come, where a scheduled run would wait for River's scheduler's
	// next round (every 5 s).
	require.Equal(t, "available", state)
	require.WithinRange(t, at, before.Add(wait).Add(-time.Second), after.Add(wait).Add(time.Second), "due AnalyticsBatchWait after the first event")
	require.Equal(t, 3, pending(t, b.pool))
}

// TestTrackAnalyticsPostgres: the events of a batch are sent together, by
// one run, to analytics_events: an analytics/track event under its own
// name, user and properties, a catalog event under its name with the
// properties its allow-list gives.
func TestTrackAnalyticsPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	userID := uuid.NewString()
	ids := b.publish(t,
		events.AnalyticsTrack{Event: "Cart Viewed", UserID: "u-9", Properties: map[string]any{"items": 3}},
		events.UserCreated{UserID: userID, Email: "pg@example.com", Name: "Pg"},
	)
	last := event(t, events.AnalyticsTrack{Event: "Checkout Started", UserID: "u-9"})
	res := b.run(t, "track-analytics", last)
	requireState(t, res, rivertype.JobStateCompleted)
	require.JSONEq(t, `{"sent": 3}`, string(res.Output), "one run for the whole batch")
	require.Zero(t, pending(t, b.tx))

	var name, user string
	var props json.RawMessage
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT name, user_id, properties FROM analytics_events WHERE event_id = $1`, ids[0]).Scan(&name, &user, &props))
	require.Equal(t, "Cart Viewed", name)
	require.Equal(t, "u-9", user)
	require.JSONEq(t, `{"items": 3}`, string(props))
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT name, user_id FROM analytics_events WHERE event_id = $1`, ids[1]).Scan(&name, &user))
	require.Equal(t, "user/created", name)
	require.Equal(t, userID, user)
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT name FROM analytics_events WHERE event_id = $1`, last.ID).Scan(&name))
	require.Equal(t, "Checkout Started", name)
}

// TestTrackAnalyticsMixpanelBatches: 4,500 tracked events go to Mixpanel
// in three Import requests (2,000 + 2,000 + 500: a full batch schedules the
// next run at once), each event once with its own $insert_id.
func TestTrackAnalyticsMixpanelBatches(t *testing.T) {
	t.Parallel()
	fake := fakeMixpanel(t, providerfake.Reply{Status: 200, Body: `{"code": 200, "status": "OK"}`})
	b := setup(t, bundleOpts{deps: jobs.Deps{Analytics: mixpanelSink(t, fake.URL), AnalyticsBatchWait: 100 * time.Millisecond}})

	const n = 4500
	payloads := make([]events.Payload, n)
	for i := range payloads {
		payloads[i] = events.AnalyticsTrack{Event: "Page Viewed", UserID: fmt.Sprintf("u-%d", i)}
	}
	ids := publish(t, b, payloads...)

	for _, run := range b.waitJobs(t, "track_analytics", 3) {
		require.Equal(t, rivertype.JobStateCompleted, run.State)
	}
	reqs := fake.Requests()
	require.Len(t, reqs, 3)
	insertIDs := map[string]bool{}
	var sizes []int
	for _, r := range reqs {
		require.Equal(t, "/import", r.Path)
		require.Equal(t, "strict=1", r.Query)
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("mp_token:")), r.Header.Get("Authorization"))
		batch := decodeBatch(t, r)
		sizes = append(sizes, len(batch))
		for _, e := range batch {
			insertIDs[e.Properties["$insert_id"].(string)] = true
		}
	}
	slices.Sort(sizes)
	require.Equal(t, []int{500, 2000, 2000}, sizes)
	require.Len(t, insertIDs, n, "every event once")
	require.True(t, insertIDs[mixpanel.InsertID(ids[0], "Page Viewed")])
	require.Zero(t, pending(t, b.pool))
}

// TestTrackAnalyticsLostAnswer: Mixpanel imports a batch but the answer is
// lost (a 503 here); the run is retried with the same batch (the events it
// took are a step's output), sent again with the same $insert_ids, which
// Mixpanel deduplicates.
func TestTrackAnalyticsLostAnswer(t *testing.T) {
	t.Parallel()
	fake := fakeMixpanel(t,
		providerfake.Reply{Status: 503, Body: `{"code": 503, "error": "service unavailable", "status": "Service Unavailable"}`},
		providerfake.Reply{Status: 200, Body: `{"code": 200, "status": "OK"}`},
	)
	b := setupTx(t, jobs.Deps{Analytics: mixpanelSink(t, fake.URL)})
	userID := uuid.NewString()
	ev := event(t, events.UserCreated{UserID: userID, Email: "mp@example.com", Name: "Mp"})

	res := b.run(t, "track-analytics", ev)
	requireRetried(t, res)
	res = b.work(t, "track-analytics", res.Job.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	require.Equal(t, 2, res.Job.Attempt)

	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	first, second := decodeBatch(t, reqs[0]), decodeBatch(t, reqs[1])
	require.Len(t, second, 1)
	require.Equal(t, "user/created", second[0].Event)
	require.Equal(t, userID, second[0].Properties["distinct_id"])
	require.Equal(t, mixpanel.InsertID(ev.ID, "user/created"), second[0].Properties["$insert_id"])
	require.Equal(t, first[0].Properties["$insert_id"], second[0].Properties["$insert_id"])
	require.Zero(t, pending(t, b.tx))
}

// TestTrackAnalyticsRateLimitAndRefusal: a 429 snoozes the run for its
// Retry-After without using an attempt, and the batch waits with it; a 400
// (invalid events) drops the batch for good, logged, and completes the run.
func TestTrackAnalyticsRateLimitAndRefusal(t *testing.T) {
	t.Parallel()
	fake := fakeMixpanel(t,
		providerfake.Reply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"code": 429, "error": "too many requests", "status": "Too Many Requests"}`},
		providerfake.Reply{Status: 400, Body: `{"code": 400, "error": "some data points in the request failed validation", "failed_records": [{"index": 0, "$insert_id": "x", "field": "properties.time", "message": "'properties.time' is invalid"}], "status": "Bad Request"}`},
	)
	var logs testserver.Buffer
	b := setupTx(t, jobs.Deps{Analytics: mixpanelSink(t, fake.URL), Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	before := time.Now()
	res := b.run(t, "track-analytics", event(t, events.AnalyticsTrack{Event: "First", UserID: "u-1"}))
	requireSnoozed(t, res, before, time.Now(), time.Second)
	res = b.work(t, "track-analytics", res.Job.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	require.Equal(t, 1, res.Job.Attempt, "a snooze uses no attempt")

	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, reqs[0].Body, reqs[1].Body, "the same batch")
	require.Zero(t, pending(t, b.tx), "the refused batch is dropped")
	contains(t, logs.String(), `level=ERROR msg="Analytics batch refused by the sink; dropped" events=1`)
}
