package jobs_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/limit"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/notify"
)

// mostInWindow is the largest number of times at falls within any window
// [t, t+window) beginning at one of them.
func mostInWindow(at []time.Time, window time.Duration) int {
	at = slices.Clone(at)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < window; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

// TestSendRateLimitSharedByClients: two River clients (two processes)
// share a limit of 2 Resend requests per 500 ms. Eight welcome emails all
// go out, once each, Resend never sees more than 2 in any 500 ms, and the
// jobs that waited for capacity used no attempt.
func TestSendRateLimitSharedByClients(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtestPool(t)
	fake, mailer := resendMailer(t)
	const per = 500 * time.Millisecond
	deps := jobs.Deps{Mailer: mailer, SendLimits: map[string]limit.Rule{
		notify.ChannelEmail: {Key: "resend", Rate: 2, Per: per},
	}}
	b := setup(t, bundleOpts{deps: deps, pool: pool})
	other := setup(t, bundleOpts{deps: deps, pool: pool, stopped: true})
	b.finished.watch(t, other.client)
	require.NoError(t, other.client.Start(ctx))

	const n = 8
	for i := range n {
		_, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "u" + string(rune('a'+i)) + "@example.com", Name: "U"})
		require.NoError(t, err)
	}
	snoozed := 0
	for _, job := range b.waitJobs(t, "send_welcome_email", n) {
		require.Equal(t, rivertype.JobStateCompleted, job.State)
		require.Equal(t, 1, job.Attempt, "waiting for capacity uses no attempt")
		var meta struct {
			Snoozes int `json:"snoozes"` // River counts a job's snoozes here
		}
		require.NoError(t, json.Unmarshal(job.Metadata, &meta))
		if meta.Snoozes > 0 {
			snoozed++
		}
	}
	require.Positive(t, snoozed, "some jobs waited for capacity")
	require.Equal(t, n, fake.Counts().Delivered)
	var at []time.Time
	for _, r := range fake.Emails() {
		at = append(at, r.At)
	}
	require.Len(t, at, n, "no email was sent twice")
	require.LessOrEqual(t, mostInWindow(at, per), 2, "Resend saw more than 2 requests in %s", per)
}

// TestOutOfStockAlertWaitsForItsShop: while another alert of the same shop
// holds the shop's slot (concurrency, shared by every process through
// limit_slots), an out-of-stock alert waits (snoozed, no attempt used,
// nothing sent); once the slot is released it sends.
func TestOutOfStockAlertWaitsForItsShop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	owner := mustUser(t, b.mart)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Ghee", PricePaise: 1000, Stock: 1})
	require.NoError(t, err)

	// The slot of the function's first concurrency key, as package fn
	// names it.
	held, err := limit.New(b.tx, nil).Acquire(ctx, limit.Rule{
		Key: "process-out-of-stock-alert/concurrency/0/" + shop.ID, Concurrency: 1, Lease: time.Minute,
	}, 1)
	require.NoError(t, err)
	res := b.run(t, "process-out-of-stock-alert", event(t, events.ProductOutOfStock{ProductID: p.ID, ShopID: shop.ID, Name: p.Name}))
	requireWaiting(t, res)
	require.Equal(t, 0, res.Job.Attempt, "the wait gives its attempt back")
	require.Empty(t, deliveriesTo(t, b.tx, owner.Email))

	require.NoError(t, held.Release(ctx))
	res = b.work(t, "process-out-of-stock-alert", res.Job.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	require.Len(t, withSubject(deliveriesTo(t, b.tx, owner.Email), "Out of stock: Ghee"), 1)
}

// TestLimitWaitsAreNotCapped: unlike a provider's 429, a wait for a shared
// limit's capacity is never turned into a failure by FailureAlerter's snooze
// caps, however old the job: with the limit taken, a job with one attempt
// waits (snoozed, no error, nothing sent) instead of being discarded.
func TestLimitWaitsAreNotCapped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake, mailer := resendMailer(t)
	rule := limit.Rule{Key: "resend", Rate: 1, Per: time.Hour, Lease: time.Minute}
	later := func() time.Time { return time.Now().Add(jobs.MaxSnoozeAge + time.Hour) }
	b := setup(t, bundleOpts{
		deps:    jobs.Deps{Mailer: mailer, SendLimits: map[string]limit.Rule{notify.ChannelEmail: rule}},
		alerter: &jobs.FailureAlerter{Logger: testLogger(t), NowFunc: later},
	})
	_, err := limit.New(b.pool, nil).Acquire(ctx, rule, 0) // this hour's one request
	require.NoError(t, err)
	outcome, cancel := b.client.Subscribe(river.EventKindJobSnoozed, river.EventKindJobFailed)
	defer cancel()

	_, err = b.pool.Exec(ctx, `INSERT INTO events (id, name, data, ts) VALUES ('evt-1', 'user/created', '{"userId":"u1","email":"a@example.com","name":"A"}', now())`)
	require.NoError(t, err)
	_, err = b.client.Insert(ctx, runOf("send_welcome_email", "evt-1"), &river.InsertOpts{Queue: jobs.QueueEmail, MaxAttempts: 1})
	require.NoError(t, err)
	ev := <-outcome
	require.Equal(t, river.EventKindJobSnoozed, ev.Kind, "%+v", ev.Job.Errors)
	require.Equal(t, rivertype.JobStateScheduled, ev.Job.State)
	require.Empty(t, ev.Job.Errors)
	require.Equal(t, 0, ev.Job.Attempt)
	require.Empty(t, fake.Emails())
}
