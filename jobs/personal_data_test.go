package jobs_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/analytics/mixpanel"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn/fntest"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/notify/resend"
	"github.com/mohallamart/backend/notify/twilio"
	"github.com/mohallamart/backend/outbox"
)

// TestAnalyticsAllowList: the analytics sink receives of each tracked
// event only the properties the allow-list in docs/guarantees.md names: ids, amounts
// and counts, never an email address, name or phone number.
func TestAnalyticsAllowList(t *testing.T) {
	t.Parallel()
	b := setupTx(t, jobs.Deps{})
	ctx := t.Context()

	phone := "+919876543210"
	asha, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "asha-" + uuid.NewString() + "@example.com", Name: "Asha Verma", Phone: &phone})
	require.NoError(t, err)
	newEmail, newPhone := "asha.v-"+uuid.NewString()+"@example.com", "+919123456780"
	_, err = b.mart.UpdateUser(ctx, asha.ID, mart.UpdateUserParams{Email: &newEmail, Phone: &newPhone})
	require.NoError(t, err)
	owner, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "owner-" + uuid.NewString() + "@example.com", Name: "Lakshmi Gupta"})
	require.NoError(t, err)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Gupta Kirana", OwnerID: owner.ID})
	require.NoError(t, err)
	rice, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Rice", PricePaise: 10000, Stock: 10})
	require.NoError(t, err)
	dal, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Dal", PricePaise: 5000, Stock: 10})
	require.NoError(t, err)
	order, err := b.mart.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: asha.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{
		{ProductID: rice.ID, Quantity: 2}, {ProductID: dal.ID, Quantity: 1},
	}})
	require.NoError(t, err)
	_, err = b.mart.CancelOrder(ctx, order.ID, "wrong address, call me on 9876543210")
	require.NoError(t, err)
	require.NoError(t, b.mart.DeleteUser(ctx, asha.ID))

	res := b.run(t, "track-analytics", event(t, events.AnalyticsTrack{Event: "Cart Viewed", UserID: asha.ID, Properties: map[string]any{"items": 3, "coupon": "DIWALI"}}))
	requireState(t, res, rivertype.JobStateCompleted)
	type row struct{ name, user, props string }
	rows, err := b.tx.Query(ctx, `SELECT name, user_id, properties::text FROM analytics_events ORDER BY occurred_at, id`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.name, &x.user, &x.props)
	})
	require.NoError(t, err)
	want := []row{
		{"user/created", asha.ID, `{"userId": "` + asha.ID + `", "hasPhone": true}`},
		{"user/updated", asha.ID, `{"userId": "` + asha.ID + `", "changedFields": ["email", "phone"]}`},
		{"user/created", owner.ID, `{"userId": "` + owner.ID + `", "hasPhone": false}`},
		{"order/created", asha.ID, `{"orderId": "` + order.ID + `", "userId": "` + asha.ID + `", "shopId": "` + shop.ID + `", "totalPaise": 25000, "lineCount": 2, "itemCount": 3}`},
		{"order/cancelled", asha.ID, `{"orderId": "` + order.ID + `", "userId": "` + asha.ID + `", "reason": "wrong address, call me on [phone]"}`},
		{"user/deleted", asha.ID, `{"userId": "` + asha.ID + `"}`},
		{"Cart Viewed", asha.ID, `{"items": 3, "coupon": "DIWALI"}`},
	}
	require.Len(t, got, len(want))
	for i, w := range want {
		require.Equal(t, w.name, got[i].name, i)
		require.Equal(t, w.user, got[i].user, w.name)
		require.JSONEq(t, w.props, got[i].props, w.name)
	}
	for _, g := range got {
		for _, personal := range []string{"@example.com", "Asha", "Lakshmi", "98765", "91234"} {
			require.NotContains(t, g.props, personal, g.name)
		}
	}
}

// TestAnalyticsAllowListMixpanel: what Mixpanel receives of user/created
// is the user id and whether a phone was given, not the email, name or
// phone.
func TestAnalyticsAllowListMixpanel(t *testing.T) {
	t.Parallel()
	fake := fakeMixpanel(t, providerfake.Reply{Status: 200, Body: `{"code": 200, "status": "OK"}`})
	b := setupTx(t, jobs.Deps{Analytics: mixpanelSink(t, fake.URL)})
	userID := "u-" + uuid.NewString()
	ev := event(t, events.UserCreated{UserID: userID, Email: "meera@example.com", Name: "Meera Iyer", Phone: "+919812345678"})

	requireState(t, b.run(t, "track-analytics", ev), rivertype.JobStateCompleted)
	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	body := string(reqs[0].Body)
	for _, personal := range []string{"meera@example.com", "Meera", "9812345678", "email", "phone", "name"} {
		require.NotContains(t, body, personal)
	}
	batch := decodeBatch(t, reqs[0])
	require.Len(t, batch, 1)
	require.Equal(t, map[string]any{
		"userId": userID, "hasPhone": true,
		"distinct_id": userID, "event_id": ev.ID, "$insert_id": mixpanel.InsertID(ev.ID, "user/created"),
		"time": batch[0].Properties["time"],
	}, batch[0].Properties)
}

// jobErrorsText is every error River stored for jobs of kind, as stored.
func jobErrorsText(t *testing.T, b *testBundle, kind string) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT coalesce(string_agg(errors::text, ' '), '') FROM river_job WHERE kind = $1`, kind).Scan(&s))
	return s
}

// TestJobErrorsCarryNoRecipient: a provider's rejection that echoes the
// recipient's address or number, and our own errors that name a message
// by its idempotency key (which holds the recipient), reach
// river_job.errors (and so River UI, GET /v1/events/{id} and alerts) with
// the address and number redacted.
func TestJobErrorsCarryNoRecipient(t *testing.T) {
	t.Parallel()

	t.Run("Resend422", func(t *testing.T) {
		t.Parallel()
		fake := fakeResendReplies(t, providerfake.Reply{Status: 422, Body: `{"statusCode": 422, "message": "The email address bad.user@example.com is invalid.", "name": "validation_error"}`})
		mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
		require.NoError(t, err)
		b := setup(t, bundleOpts{deps: jobs.Deps{Mailer: mailer}})
		_, err = b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "bad.user@example.com", Name: "Bad"})
		require.NoError(t, err)

		rows := b.waitJobs(t, "send_welcome_email", 1)
		require.Equal(t, rivertype.JobStateCancelled, rows[0].State)
		require.Len(t, fake.Requests(), 1)
		require.Contains(t, rows[0].Errors[0].Error, "resend rejected the message (HTTP 422): The email address [email] is invalid.")
		require.NotContains(t, jobErrorsText(t, b, "send_welcome_email"), "bad.user@example.com")
	})

	t.Run("Twilio400", func(t *testing.T) {
		t.Parallel()
		fake := fakeTwilio(t, providerfake.Reply{Status: 400, Body: `{"code": 21211, "message": "The 'To' number +919876543210 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`})
		sms, err := twilio.New(twilio.Opts{AccountSID: "AC123", AuthToken: "token123", From: "+15005550006", BaseURL: fake.URL})
		require.NoError(t, err)
		b := setup(t, bundleOpts{deps: jobs.Deps{SMS: sms}})
		publish(t, b, events.NotificationSend{Channel: "sms", To: "+919876543210", Message: "Your OTP is 4321"})

		rows := b.waitJobs(t, "send_notification", 1)
		require.Equal(t, rivertype.JobStateCancelled, rows[0].State)
		require.Contains(t, rows[0].Errors[0].Error, "twilio rejected the message (HTTP 400): The 'To' number [phone] is not a valid phone number. (code 21211)")
		require.NotContains(t, jobErrorsText(t, b, "send_notification"), "9876543210")
	})

	t.Run("OwnErrorsNamingTheKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t, bundleOpts{})
		// The first claim of a delivery fails with a message quoting the
		// recipient, as a database error about the row would.
		_, err := b.pool.Exec(t.Context(), `
			CREATE SEQUENCE fail_once;
			CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF nextval('fail_once') = 1 THEN RAISE EXCEPTION 'cannot store a message to %', NEW.recipient; END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER fail_once BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION fail_once();`)
		require.NoError(t, err)
		_, err = b.mart.CreateUser(t.Context(), mart.CreateUserParams{Email: "kiran@example.com", Name: "Kiran"})
		require.NoError(t, err)

		rows := b.waitJobs(t, "send_welcome_email", 1)
		require.Equal(t, rivertype.JobStateCompleted, rows[0].State)
		require.Len(t, rows[0].Errors, 1)
		contains(t, rows[0].Errors[0].Error, "claim delivery send_welcome_email/", "/[email]:", "cannot store a message to [email]")
		require.NotContains(t, jobErrorsText(t, b, "send_welcome_email"), "kiran@example.com")
		require.Len(t, deliveriesTo(t, b.pool, "kiran@example.com"), 1, "the retry sent it")
	})

	t.Run("FailureAlert", func(t *testing.T) {
		t.Parallel()
		fake := fakeResendReplies(t,
			providerfake.Reply{Status: 500, Body: `{"statusCode": 500, "message": "Mailbox of tara@example.com (+919800000001) unavailable", "name": "internal_server_error"}`},
			providerfake.Reply{Status: 200, Body: `{"id": "email-1"}`},
		)
		mailer, err := resend.New(resend.Opts{APIKey: "re_test", From: "m@mohallamart.test", BaseURL: fake.URL})
		require.NoError(t, err)
		b := setup(t, bundleOpts{deps: jobs.Deps{Mailer: mailer}, alerter: &jobs.FailureAlerter{OpsEmail: "ops@mohallamart.test", Logger: testLogger(t)}})
		_, err = b.pool.Exec(t.Context(), `INSERT INTO events (id, name, data, ts)
			VALUES ('evt-tara', 'user/created', '{"userId": "u-3", "email": "tara@example.com", "name": "Tara"}', now())`)
		require.NoError(t, err)
		_, err = b.client.Insert(t.Context(), runOf("send_welcome_email", "evt-tara"), &river.InsertOpts{Queue: jobs.QueueEmail, MaxAttempts: 1})
		require.NoError(t, err)

		rows := b.waitJobs(t, "send_welcome_email", 1)
		require.Equal(t, rivertype.JobStateDiscarded, rows[0].State)
		require.NotContains(t, jobErrorsText(t, b, "send_welcome_email"), "tara@example.com")
		b.waitJobs(t, "send_notification", 1)
		var alert struct {
			To   []string `json:"to"`
			Text string   `json:"text"`
		}
		reqs := fake.Requests()
		require.NoError(t, json.Unmarshal(reqs[len(reqs)-1].Body, &alert)) // the alert comes after the failed send
		require.Equal(t, []string{"ops@mohallamart.test"}, alert.To)
		contains(t, alert.Text, "resend answered HTTP 500: Mailbox of [email] ([phone]) unavailable")
		require.NotContains(t, alert.Text, "tara@example.com")
		require.NotContains(t, alert.Text, "9800000001")
	})
}

// TestDeletedUserGetsNothing: messages queued for users before their
// accounts were deleted are cancelled when their runs run, and nothing is
// sent to them or recorded: the welcome email, the order confirmation and
// update, email, SMS and push notifications, and a deleted shop owner's
// out-of-stock alert.
func TestDeletedUserGetsNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtestPool(t)
	// Written while no worker runs, so every run is still queued when the
	// users are deleted.
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	ob := outbox.New(inserter, jobstest.Registry(t, pool))
	svc := mart.NewService(pool, ob)
	phone := "+919876543210"
	customer, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "cust@example.com", Name: "Arjun", Phone: &phone})
	require.NoError(t, err)
	owner, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "owner@example.com", Name: "Lakshmi"})
	require.NoError(t, err)
	shop, err := svc.CreateShop(ctx, mart.CreateShopParams{Name: "Gupta Kirana", OwnerID: owner.ID})
	require.NoError(t, err)
	rice, err := svc.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Rice", PricePaise: 10000, Stock: 1})
	require.NoError(t, err)
	order, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{{ProductID: rice.ID, Quantity: 1}}})
	require.NoError(t, err)
	_, err = svc.UpdateOrderStatus(ctx, order.ID, mart.StatusConfirmed)
	require.NoError(t, err)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	var evs []events.Event
	for _, ch := range []string{"email", "sms", "push"} {
		evs = append(evs, event(t, events.NotificationSend{Channel: ch, UserID: customer.ID, Subject: "Offer", Message: "Diwali offers"}))
	}
	_, err = ob.Publish(ctx, tx, evs...)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, svc.DeleteUser(ctx, customer.ID))
	require.NoError(t, svc.DeleteUser(ctx, owner.ID))

	b := setup(t, bundleOpts{pool: pool})
	for kind, n := range map[string]int{
		"send_welcome_email": 2, "send_order_confirmation": 1, "send_order_update": 1,
		"send_notification": 3, "process_out_of_stock_alert": 1,
	} {
		for _, r := range b.waitJobs(t, kind, n) {
			require.Equal(t, rivertype.JobStateCancelled, r.State, kind)
			require.Equal(t, 1, r.Attempt, "%s settles on its first attempt", kind)
		}
		text := jobErrorsText(t, b, kind)
		require.NotContains(t, text, "@example.com", kind)
		require.NotContains(t, text, "9876543210", kind)
	}
	for _, to := range []string{customer.Email, phone, customer.ID, owner.Email, owner.ID} {
		require.Empty(t, deliveriesTo(t, pool, to), "nothing was sent to %s", to)
	}
	welcome := listJobs(t, pool, "send_welcome_email")
	require.True(t, strings.Contains(welcome[0].Errors[0].Error, "user "+customer.ID+" was deleted"), welcome[0].Errors[0].Error)
}

// TestScheduledCleanupRetention: the daily cleanup deletes what is past
// retention in app_logs, events, sessions, deliveries and
// analytics_events, at most jobs.DeleteBatch rows per statement, and keeps
// the rest, and the deliveries of a job that has not finished.
func TestScheduledCleanupRetention(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A database of its own: the test adds triggers to the tables. The run
	// is worked in a transaction of it (fntest).
	tx, err := dbtestPool(t).Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
	reg, err := jobs.NewRegistry(jobs.Deps{DB: tx, Retention: jobs.Retention{
		Logs: 30 * 24 * time.Hour, Events: 30 * 24 * time.Hour, Deliveries: 30 * 24 * time.Hour, Analytics: 90 * 24 * time.Hour,
	}})
	require.NoError(t, err)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	var userID string
	require.NoError(t, tx.QueryRow(ctx, `INSERT INTO users (email, name) VALUES ('s@example.com', 'S') RETURNING id`).Scan(&userID))
	unfinished, err := client.InsertTx(ctx, tx, runOf("send_welcome_email", "later"), &river.InsertOpts{Queue: jobs.QueueEmail, ScheduledAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)

	// Every DELETE statement on these tables records how many rows it deleted.
	_, err = tx.Exec(ctx, `
		CREATE TABLE delete_statements (tbl text NOT NULL, n bigint NOT NULL);
		CREATE FUNCTION record_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO delete_statements SELECT TG_TABLE_NAME, count(*) FROM old_rows; RETURN NULL; END $$;`)
	require.NoError(t, err)
	tables := []string{"app_logs", "events", "sessions", "deliveries", "analytics_events"}
	for _, tbl := range tables {
		_, err = tx.Exec(ctx, `CREATE TRIGGER record_delete AFTER DELETE ON `+tbl+` REFERENCING OLD TABLE AS old_rows
			FOR EACH STATEMENT EXECUTE FUNCTION record_delete()`)
		require.NoError(t, err)
	}
	const old = jobs.DeleteBatch + 1
	oldRows := []any{old}
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO app_logs (level, message, created_at)
		SELECT 'info', 'old', now() - interval '31 days' FROM generate_series(1, $1) UNION ALL
		SELECT 'info', 'recent', now() - interval '29 days'`, oldRows},
		{`INSERT INTO events (id, name, ts, received_at)
		SELECT 'old-' || g, 'x/old', now(), now() - interval '31 days' FROM generate_series(1, $1) g UNION ALL
		SELECT 'recent', 'x/recent', now(), now() - interval '29 days'`, oldRows},
		{`INSERT INTO sessions (user_id, token_hash, expires_at)
		SELECT $2::uuid, decode(md5(g::text), 'hex'), now() - interval '1 minute' FROM generate_series(1, $1) g UNION ALL
		SELECT $2::uuid, 'live', now() + interval '1 hour'`, []any{old, userID}},
		{`INSERT INTO deliveries (channel, recipient, body, provider, status, idempotency_key, created_at)
		SELECT 'email', 'x@example.com', 'Hi X', 'capture', 'captured', 'old-' || g, now() - interval '31 days' FROM generate_series(1, $1) g UNION ALL
		SELECT 'email', 'x@example.com', 'Hi X', 'capture', 'captured', 'recent', now() - interval '29 days'`, oldRows},
		{`INSERT INTO deliveries (job_id, channel, recipient, provider, status, idempotency_key, created_at)
		VALUES ($1, 'email', 'x@example.com', 'resend', 'sent', 'unfinished-job', now() - interval '31 days')`, []any{unfinished.Job.ID}},
		{`INSERT INTO analytics_events (event_id, name, occurred_at, created_at)
		SELECT 'old-' || g, 'x', now(), now() - interval '91 days' FROM generate_series(1, $1) g UNION ALL
		SELECT 'recent', 'x', now(), now() - interval '89 days'`, oldRows},
	} {
		_, err = tx.Exec(ctx, st.sql, st.args...)
		require.NoError(t, err, st.sql)
	}

	run, err := client.InsertTx(ctx, tx, runFor("scheduled_cleanup", time.Now().Truncate(time.Minute)), &river.InsertOpts{Queue: jobs.QueueMaintenance})
	require.NoError(t, err)
	res := fntest.Work(t, tx, reg, "scheduled-cleanup", run.Job.ID)
	requireState(t, res, rivertype.JobStateCompleted)

	for tbl, keys := range map[string]string{
		"app_logs": "message", "events": "id", "sessions": "encode(token_hash, 'escape')",
		"deliveries": "idempotency_key", "analytics_events": "event_id",
	} {
		r, err := tx.Query(ctx, `SELECT `+keys+` FROM `+tbl+` ORDER BY 1`)
		require.NoError(t, err)
		left, err := pgx.CollectRows(r, pgx.RowTo[string])
		require.NoError(t, err)
		want := map[string][]string{
			"app_logs": {"recent"}, "events": {"recent"}, "sessions": {"live"},
			"deliveries": {"recent", "unfinished-job"}, "analytics_events": {"recent"},
		}[tbl]
		require.Equal(t, want, left, tbl)

		var statements, total, largest int64
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(n), 0), coalesce(max(n), 0) FROM delete_statements WHERE tbl = $1`, tbl).
			Scan(&statements, &total, &largest))
		require.EqualValues(t, old, total, tbl)
		require.LessOrEqual(t, largest, int64(jobs.DeleteBatch), "%s: at most one batch per statement", tbl)
		require.GreaterOrEqual(t, statements, int64(2), tbl)
	}
}
