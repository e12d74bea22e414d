package reliability

import (
	"fmt"
	"testing"

	"github.com/mohallamart/backend/internal/providerfake"
)

// audit is what one scenario's final SQL audit checks.
type audit struct {
	// acked maps a table to the ids the API acknowledged writing there.
	// Each acknowledged order must also have exactly one order/created
	// event naming it: scenarios that count the messages to expect from
	// the events table rely on it.
	acked map[string][]string
	// jobsPerEvent: for every stored event of a name, how many jobs of each
	// kind carry its id.
	jobsPerEvent map[string]map[string]int
	// providers are the fakes and the effects each must have seen.
	providers []expect
	// unsent is how many deliveries rows stay 'sending': the messages of
	// jobs discarded after their last attempt, claimed and never known
	// sent. Every other row must be 'sent'.
	unsent int
	// tracked is how many tracked events the fake Mixpanel must have
	// received, by distinct $insert_id (mixpanel nil: not checked).
	tracked  int
	mixpanel *providerfake.Mixpanel
}

// expect is what one fake must have seen: delivered distinct keys (sent
// messages, indexed documents), and refused ones, sent and never delivered
// (rejected for good, or failing until their job was discarded). channel
// is the deliveries channel its messages are recorded under ("" for
// search, which records none).
type expect struct {
	fake      provider
	channel   string
	delivered int
	refused   int
}

// run stops the cluster's processes (SIGTERM), checks a and returns its
// figures.
func (a audit) run(t *testing.T, c *cluster) string {
	t.Helper()
	c.stop()
	ctx := t.Context()
	q := func(dst any, sql string, args ...any) {
		t.Helper()
		if err := c.pool.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("audit %q: %v", sql, err)
		}
	}
	ackedN := 0
	for table, ids := range a.acked {
		var found int
		q(&found, fmt.Sprintf("SELECT count(*) FROM %s WHERE id::text = ANY($1)", table), ids)
		if found != len(ids) {
			t.Errorf("audit: %d of %d acknowledged %s are stored", found, len(ids), table)
		}
		ackedN += len(ids)
	}
	if orders, ok := a.acked["orders"]; ok {
		var bad int
		q(&bad, `SELECT count(*) FROM unnest($1::text[]) AS o(id)
			LEFT JOIN (SELECT data->>'orderId' AS id, count(*) AS n FROM events WHERE name = 'order/created' GROUP BY 1) e USING (id)
			WHERE e.n IS DISTINCT FROM 1`, orders)
		if bad > 0 {
			t.Errorf("audit: %d of %d acknowledged orders do not have exactly one order/created event", bad, len(orders))
		}
	}
	for name, kinds := range a.jobsPerEvent {
		for kind, want := range kinds {
			var bad, events int
			q(&events, "SELECT count(*) FROM events WHERE name = $1", name)
			q(&bad, `SELECT count(*) FROM events e WHERE e.name = $1 AND
				(SELECT count(*) FROM river_job j WHERE j.kind = $2 AND j.args->>'event_id' = e.id) <> $3`, name, kind, want)
			if bad > 0 {
				t.Errorf("audit: %d of %d %s events do not have exactly %d %s job(s)", bad, events, name, want, kind)
			}
		}
	}
	var running int
	q(&running, "SELECT count(*) FROM river_job WHERE state = 'running'")
	if running != 0 {
		t.Errorf("audit: %d jobs left running", running)
	}
	var dupes, deliveries, notSent int
	q(&dupes, "SELECT count(*) FROM (SELECT 1 FROM deliveries GROUP BY event_id, channel, recipient HAVING count(*) > 1) d")
	q(&deliveries, "SELECT count(*) FROM deliveries")
	q(&notSent, "SELECT count(*) FROM deliveries WHERE status <> 'sent'")
	if dupes != 0 {
		t.Errorf("audit: %d messages recorded more than once", dupes)
	}
	if notSent != a.unsent {
		t.Errorf("audit: %d deliveries not sent (captured or still sending), want %d (the messages of discarded jobs)", notSent, a.unsent)
	}
	figures := fmt.Sprintf("acked %d, running jobs %d, deliveries %d (duplicated %d)", ackedN, running, deliveries, dupes)
	for _, e := range a.providers {
		figures += "; " + e.check(t, c)
	}
	if a.mixpanel != nil {
		var pending int
		q(&pending, "SELECT count(*) FROM analytics_pending")
		got := a.mixpanel.Imported()
		distinct, received := got.Distinct, got.Events
		if pending != 0 || distinct != a.tracked {
			t.Errorf("audit: Mixpanel got %d distinct $insert_id (%d pending), want %d", distinct, pending, a.tracked)
		}
		figures += fmt.Sprintf("; Mixpanel: %d events sent, %d distinct $insert_id", received, distinct)
	}
	return figures
}

// check compares what e's fake saw, and what deliveries recorded for its
// channel, with e, and returns its figures.
func (e expect) check(t *testing.T, c *cluster) string {
	t.Helper()
	fc := e.fake.Counts()
	name := e.fake.Name()
	if fc.Keys != e.delivered+e.refused || fc.Delivered != e.delivered {
		t.Errorf("audit: %s saw %d distinct keys and delivered %d, want %d and %d", name, fc.Keys, fc.Delivered, e.delivered+e.refused, e.delivered)
	}
	if fc.WithoutKey != 0 {
		t.Errorf("audit: %d %s requests without an idempotency key", fc.WithoutKey, name)
	}
	if e.channel != "" {
		var sent, ids int
		if err := c.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE status = 'sent'), count(DISTINCT provider_message_id) FILTER (WHERE status = 'sent')
			FROM deliveries WHERE channel = $1`, e.channel).Scan(&sent, &ids); err != nil {
			t.Fatalf("audit %s deliveries: %v", e.channel, err)
		}
		if sent != e.delivered || ids != e.delivered {
			t.Errorf("audit: %d %s messages recorded sent with %d distinct %s ids, want %d", sent, e.channel, ids, name, e.delivered)
		}
	}
	f := fmt.Sprintf("%s: %d requests, %d distinct keys, %d delivered, max %d requests per key", name, fc.Requests, fc.Keys, fc.Delivered, fc.MaxPerKey)
	if fc.Twice > 0 {
		f += fmt.Sprintf(", %d delivered twice", fc.Twice)
	}
	return f
}
