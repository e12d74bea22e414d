package reliability

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mohallamart/backend/internal/providerfake"
)

// Scenario 3's settings: a failing job gets failAttempts attempts
// (TEST_MAX_ATTEMPTS), retried after failRetry (TEST_RETRY_DELAY), so a
// persistent failure is discarded within seconds; a hung call ends after
// failTimeout (PROVIDER_TIMEOUT).
const (
	failAttempts = 3
	failRetry    = 200 * time.Millisecond
	failTimeout  = 3 * time.Second
	opsEmail     = "ops@example.com"
)

// providerModes are the failures scenario 3 sends through every provider,
// by the label of each message (its recipient, SMS body, push user or
// document name starts with the mode): a transient mode fails the first
// request of its message, then the provider answers normally; reject
// always refuses (a 4xx the client treats as permanent: the job is
// cancelled); dead always fails (500), until the job is discarded after
// its last attempt.
var providerModes = map[string]providerfake.Answer{ //nolint:gochecknoglobals // a constant table
	"t500":   providerfake.Fail,
	"t429":   providerfake.TooMany,
	"tslow":  providerfake.Slow,
	"thang":  providerfake.Hang,
	"treset": providerfake.Reset,
	"tlost":  providerfake.Lost,
	"reject": providerfake.Reject,
	"dead":   providerfake.Fail,
}

// transientModes are the modes after which a message is delivered: all
// but reject and dead.
var transientModes = slices.DeleteFunc(slices.Sorted(maps.Keys(providerModes)), func(mode string) bool { //nolint:gochecknoglobals // a constant list
	return mode == "reject" || mode == "dead"
})

// modeScript answers a label as its mode says.
func modeScript(label string, n int) providerfake.Answer {
	mode, _, _ := strings.Cut(label, "-")
	a, ok := providerModes[mode]
	switch {
	case !ok:
		return providerfake.OK
	case mode == "reject" || mode == "dead" || n == 1:
		return a
	}
	return providerfake.OK
}

// TestProviderFailures sends through each provider, Resend (welcome
// emails), Twilio (SMS), OneSignal (push), Typesense (product index) and
// Mixpanel (analytics batches), messages that fail in every way once (500,
// 429, an answer slower than usual, no answer within PROVIDER_TIMEOUT, a
// connection reset, a lost answer after delivering), then succeed: each is
// delivered once (twice for a Twilio SMS whose answer was lost: Twilio has
// no idempotency key). A permanent rejection cancels the job and sends
// nothing; a persistent failure is discarded after its last attempt. Each
// job that fails for good logs "Job failed for good" once, and each job
// kind that fails sends one alert email to OPS_EMAIL (per hour).
func TestProviderFailures(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, "3. every provider failing: 500, 429, slow, hung, reset, lost answer, rejected, failing until discarded", &figures)
	var mixpanelHealed atomic.Bool
	// Every fake keeps its requests, for the leak scan.
	resend := newFakeResend(t, modeScript, true)
	o := fakeOptions(modeScript, true)
	o.Account, o.Key, o.From = twilioSID, twilioToken, twilioFrom
	twilio := started(t, providerfake.NewTwilio(o))
	o.Account, o.Key, o.From = oneSignalApp, oneSignalKey, ""
	onesignal := started(t, providerfake.NewOneSignal(o))
	o.Account, o.Key = "", typesenseKey
	typesense := started(t, providerfake.NewTypesense(o))
	mp := newFakeMixpanel(t, func(label string, n int) providerfake.Answer {
		if label == "mp-dead" && mixpanelHealed.Load() {
			return providerfake.OK
		}
		return modeScript(strings.TrimPrefix(label, "mp-"), n)
	}, true)
	fakes := []provider{resend, twilio, onesignal, typesense}
	env := []string{
		"PROVIDER_TIMEOUT=" + failTimeout.String(), "INDEX_DEBOUNCE=0s", "OPS_EMAIL=" + opsEmail,
		fmt.Sprintf("TEST_MAX_ATTEMPTS=%d", failAttempts), "TEST_RETRY_DELAY=" + failRetry.String(),
	}
	for _, e := range [][]string{resend.Env(), twilio.Env(), onesignal.Env(), typesense.Env(), mp.Env()} {
		env = append(env, e...)
	}
	c := newCluster(t, env...)
	s := c.start("all")
	began := time.Now()
	fx := newShop(c, s.base, 0)

	// Every provider's messages in every mode: welcome emails, SMS and
	// push through notification/send, products to index. Typesense gets no
	// rejection: the index treats a 4xx as temporary, so it would fail
	// until discarded, which "dead" covers.
	var (
		evs, ids []string
		modes    = slices.Sorted(maps.Keys(providerModes))
	)
	for _, mode := range modes {
		for i := range failureUsers {
			label := fmt.Sprintf("%s-%d", mode, i)
			id := "signup-" + label
			evs = append(evs, fmt.Sprintf(`{"name":"user/created","id":%q,"data":{"userId":"u-%s","email":"%s@example.com","name":"U"}}`, id, label, label),
				fmt.Sprintf(`{"name":"notification/send","id":"sms-%s","data":{"channel":"sms","to":"+9198765%05d","message":"%s: your OTP is 4321"}}`, label, len(ids), label),
				fmt.Sprintf(`{"name":"notification/send","id":"push-%s","data":{"channel":"push","to":%q,"subject":"Sale","message":"50%% off sweets"}}`, label, label))
			ids = append(ids, id, "sms-"+label, "push-"+label)
			if mode != "reject" {
				c.must(http.StatusCreated, "POST", s.base+"/v1/products", apiKey,
					fmt.Sprintf(`{"shopId":%q,"name":"%s Atta","pricePaise":24900,"stock":10}`, fx.shop, label))
			}
		}
	}
	c.must(http.StatusOK, "POST", s.base+"/v1/events", eventKey, "["+strings.Join(evs, ",")+"]")

	// Meanwhile Mixpanel, one batch per mode: an analytics/track event
	// named for the mode, sent (its track_analytics run finished) before
	// the next (the batch may carry other tracked events, which share its
	// fate). The dead batch's run is discarded after its last attempt, and
	// its events go back to their batch, whose next run (once Mixpanel is
	// back) sends them: nothing is lost.
	for _, mode := range mixpanelModes {
		c.must(http.StatusOK, "POST", s.base+"/v1/events", eventKey, fmt.Sprintf(`{"name":"analytics/track","id":"mp-%s","data":{"event":"mp-%s"}}`, mode, mode))
		if mode == "dead" {
			c.waitForEach("a track_analytics job discarded", c.standInForWaits, `SELECT EXISTS (SELECT 1 FROM river_job WHERE kind = 'track_analytics' AND state = 'discarded')`)
			mixpanelHealed.Store(true)
		}
		c.waitForEach("the mp-"+mode+" batch sent", c.standInForWaits, "SELECT "+analyticsSent)
	}
	c.waitForEach("every message sent, rejected or discarded, every product indexed or discarded", c.standInForWaits,
		`SELECT NOT EXISTS (SELECT 1 FROM river_job WHERE kind IN ('send_welcome_email', 'send_notification', 'index_product', 'index_shop')
			AND state NOT IN ('completed', 'cancelled', 'discarded'))`)
	ended := time.Now()

	// Alerts: one per failing kind (and hour), each sent to OPS_EMAIL.
	var alerts []string
	rows, err := c.pool.Query(t.Context(), `SELECT id FROM events WHERE id LIKE 'ops-alert/%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	hours := int(ended.UTC().Truncate(time.Hour).Sub(began.UTC().Truncate(time.Hour))/time.Hour) + 1
	for _, kind := range []string{"send_welcome_email", "send_notification", "index_product", "track_analytics"} {
		n := 0
		for _, a := range alerts {
			if strings.HasPrefix(a, "ops-alert/"+kind+"/") {
				n++
			}
		}
		if n < 1 || n > hours {
			t.Errorf("%d alerts for %s, want one (one an hour, over %d hour(s))", n, kind, hours)
		}
	}
	if len(alerts) > 4*hours {
		t.Errorf("alerts %v: want one for each of the four failing kinds", alerts)
	}

	var cancelled, discarded, trackDiscarded int
	if err := c.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE state = 'cancelled'),
		count(*) FILTER (WHERE state = 'discarded' AND kind <> 'track_analytics'), count(*) FILTER (WHERE state = 'discarded' AND kind = 'track_analytics')
		FROM river_job`).Scan(&cancelled, &discarded, &trackDiscarded); err != nil {
		t.Fatal(err)
	}
	u := failureUsers
	// Rejected: an email, an SMS and a push per user; discarded: those
	// of the dead users and their products, and the dead analytics batch's
	// runs (each put its events back, and a later run sent them).
	if cancelled != 3*u || discarded != 4*u {
		var failed string
		if err := c.pool.QueryRow(t.Context(), `SELECT string_agg(kind || ' ' || state || ': ' || coalesce(errors[array_length(errors, 1)]->>'error', ''), E'\n')
			FROM river_job WHERE state IN ('cancelled', 'discarded')`).Scan(&failed); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%d jobs cancelled and %d discarded, want %d and %d:\n%s", cancelled, discarded, 3*u, 4*u, failed)
	}
	logged := strings.Count(c.logs.String(), `msg="Job failed for good"`)
	if logged != cancelled+discarded+trackDiscarded {
		t.Errorf(`%d "Job failed for good" log lines, want %d (one per job cancelled or discarded, the analytics batch's included)`,
			logged, cancelled+discarded+trackDiscarded)
	}
	var attempts int
	if err := c.pool.QueryRow(t.Context(), `SELECT coalesce(max(attempt), 0) FROM river_job WHERE state = 'discarded'`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != failAttempts {
		t.Errorf("discarded after %d attempts, want %d (TEST_MAX_ATTEMPTS)", attempts, failAttempts)
	}
	twice := twilio.Counts().Twice
	if twice != u {
		t.Errorf("%d SMS delivered twice, want %d (the lost answers: Twilio has no idempotency key)", twice, u)
	}

	transient := len(transientModes) * u
	a := audit{
		acked: map[string][]string{"events": ids, "users": fx.users},
		jobsPerEvent: map[string]map[string]int{
			"user/created":      {"send_welcome_email": 1},
			"notification/send": {"send_notification": 1},
		},
		providers: []expect{
			// Welcome emails (and the shop owner's) and the alerts.
			{fake: resend, channel: "email", delivered: transient + len(fx.users) + len(alerts), refused: 2 * u},
			{fake: twilio, channel: "sms", delivered: transient, refused: 2 * u},
			{fake: onesignal, channel: "push", delivered: transient, refused: 2 * u},
			// The products of every mode but reject, the fixture's product and the shop.
			{fake: typesense, delivered: transient + 2, refused: u},
		},
		unsent:  3 * u, // the dead users' email, SMS and push: claimed, never known sent
		tracked: len(modes)*u + len(fx.users) + len(mixpanelModes), mixpanel: mp,
	}
	figures = fmt.Sprintf("%d cancelled (rejected), %d discarded after %d attempts (and %d track_analytics runs, whose events went back to their batch and were sent), %d \"Job failed for good\" lines, %d alerts (%s); ",
		cancelled, discarded, failAttempts, trackDiscarded, logged, len(alerts), strings.Join(alertKinds(alerts), ", ")) + a.run(t, c)
	t.Run("leaks", func(t *testing.T) {
		var f string
		record(t, "6. no secret, no personal data outside users/deliveries/events (after scenario 3)", &f)
		f = scanForLeaks(t, c, mp, fakes...)
	})
}

// alertKinds names the kinds of alert event ids ("ops-alert/<kind>/<hour>").
func alertKinds(ids []string) []string {
	var kinds []string
	for _, id := range ids {
		kinds = append(kinds, strings.Split(id, "/")[1])
	}
	return kinds
}

// standInForWaits does, in the short tier of scenario 3, what the passing
// of time would: a job Twilio rate-limited runs when its 30 s snooze ends
// (twilio-go does not give Retry-After; the full run waits).
func (c *cluster) standInForWaits(ctx context.Context) error {
	if fullRun {
		return nil
	}
	if _, err := c.pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'scheduled' AND scheduled_at > now() + interval '5 seconds'`); err != nil {
		return fmt.Errorf("end long snoozes: %w", err)
	}
	return nil
}
