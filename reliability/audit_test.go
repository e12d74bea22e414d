package reliability

import (
	"fmt"
	"testing"
)

// audit is what one scenario's final SQL audit checks.
type audit struct {
	// acked maps a table to the ids the API acknowledged writing there.
	acked map[string][]string
	// jobsPerEvent: for every stored event of a name, how many jobs of each
	// kind carry its id.
	jobsPerEvent map[string]map[string]int
	// emails is how many emails must be recorded as sent, once each; resend
	// the fake that must have delivered exactly those (nil: not checked).
	emails int
	resend *fakeResend
	// rejected is how many messages Resend rejected for good: their keys
	// were sent, nothing was delivered.
	rejected int
	// tracked is how many tracked events the fake Mixpanel must have
	// received, by distinct $insert_id (mixpanel nil: not checked).
	tracked  int
	mixpanel *fakeMixpanel
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
	q(&deliveries, "SELECT count(*) FROM deliveries WHERE channel = 'email'")
	q(&notSent, "SELECT count(*) FROM deliveries WHERE status <> 'sent'")
	if dupes != 0 {
		t.Errorf("audit: %d messages recorded more than once", dupes)
	}
	if notSent != 0 {
		t.Errorf("audit: %d deliveries not sent (captured or still sending)", notSent)
	}
	figures := fmt.Sprintf("acked %d, running jobs %d, deliveries %d (duplicated %d)", ackedN, running, deliveries, dupes)
	if a.resend != nil {
		if deliveries != a.emails {
			t.Errorf("audit: %d emails recorded, want %d", deliveries, a.emails)
		}
		rc := a.resend.counts()
		if rc.keys != a.emails+a.rejected || rc.delivered != a.emails {
			t.Errorf("audit: Resend saw %d distinct Idempotency-Keys and delivered %d emails, want %d and %d", rc.keys, rc.delivered, a.emails+a.rejected, a.emails)
		}
		if rc.withoutKey != 0 {
			t.Errorf("audit: %d Resend requests without an Idempotency-Key", rc.withoutKey)
		}
		var ids int
		q(&ids, "SELECT count(DISTINCT provider_message_id) FROM deliveries WHERE channel = 'email' AND provider = 'resend'")
		if ids != a.emails {
			t.Errorf("audit: %d distinct Resend message ids recorded, want %d", ids, a.emails)
		}
		figures += fmt.Sprintf("; Resend: %d requests, %d distinct keys, %d delivered, max %d requests per key", rc.requests, rc.keys, rc.delivered, rc.maxPerKey)
	}
	if a.mixpanel != nil {
		var pending int
		q(&pending, "SELECT count(*) FROM analytics_pending")
		distinct, received := a.mixpanel.distinct()
		if pending != 0 || distinct != a.tracked {
			t.Errorf("audit: Mixpanel got %d distinct $insert_id (%d pending), want %d", distinct, pending, a.tracked)
		}
		figures += fmt.Sprintf("; Mixpanel: %d events sent, %d distinct $insert_id", received, distinct)
	}
	return figures
}
