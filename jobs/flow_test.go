package jobs_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/fn/fntest"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// stepRow is a flow_steps row as an operator reads it.
type stepRow struct {
	Step   string
	Output string
}

// jobSteps returns job jobID's recorded steps in the order they finished.
func jobSteps(t *testing.T, q db.DBTX, jobID int64) []stepRow {
	t.Helper()
	rows, err := q.Query(t.Context(), `SELECT step, output::text FROM flow_steps WHERE job_id = $1 ORDER BY completed_at, step`, jobID)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stepRow])
	require.NoError(t, err)
	return out
}

// orderCase is an order placed and confirmed, with its shop's owner and its
// customer.
type orderCase struct {
	order           *mart.Order
	owner, customer *mart.User
}

// confirmedOrder places an order of two Toor Dal 1kg (₹298.00) at Gupta
// Kirana, owned by Lakshmi, for Arjun, and confirms it, through svc. The
// email addresses are unique, so a test may place several such orders.
func confirmedOrder(t *testing.T, svc *mart.Service) orderCase {
	t.Helper()
	ctx := t.Context()
	owner, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "owner-" + uuid.NewString() + "@example.com", Name: "Lakshmi"})
	require.NoError(t, err)
	customer, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "cust-" + uuid.NewString() + "@example.com", Name: "Arjun"})
	require.NoError(t, err)
	shop, err := svc.CreateShop(ctx, mart.CreateShopParams{Name: "Gupta Kirana", OwnerID: owner.ID})
	require.NoError(t, err)
	dal, err := svc.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Toor Dal 1kg", PricePaise: 14900, Stock: 10})
	require.NoError(t, err)
	order, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: customer.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{{ProductID: dal.ID, Quantity: 2}}})
	require.NoError(t, err)
	order, err = svc.UpdateOrderStatus(ctx, order.ID, mart.StatusConfirmed)
	require.NoError(t, err)
	return orderCase{order: order, owner: owner, customer: customer}
}

const confirmationSubject = "Order placed: ₹298.00 at Gupta Kirana"

// TestOrderConfirmationSteps: the order confirmation runs as steps, each
// recorded with its output: load (the order as stored), render (the
// email), send (the provider's answer) and record.
func TestOrderConfirmationSteps(t *testing.T) {
	t.Parallel()
	b := setupTx(t, jobs.Deps{})
	c := confirmedOrder(t, b.mart)

	res := b.work(t, "send-order-confirmation", pendingRun(t, b, "send_order_confirmation").ID)
	requireState(t, res, rivertype.JobStateCompleted)
	contains(t, string(res.Steps["load"]), `"orderId": "`+c.order.ID+`"`, `"email": "`+c.customer.Email+`"`, `"shopName": "Gupta Kirana"`,
		`"name": "Toor Dal 1kg", "quantity": 2, "pricePaise": 14900, "amountPaise": 29800`, `"totalPaise": 29800`)
	contains(t, string(res.Steps["render"]), `"subject": "`+confirmationSubject+`"`, "2 × Toor Dal 1kg @ ₹149.00 = ₹298.00")
	require.JSONEq(t, `{"status": "captured", "provider": "capture"}`, string(res.Steps["send"]))
	require.JSONEq(t, `true`, string(res.Steps["record"]))
	require.Equal(t, "captured", findDelivery(t, deliveriesTo(t, b.tx, c.customer.Email), confirmationSubject).Status)
}

// TestOrderConfirmationCancelledWithOrder: an order cancelled before its
// confirmation went out gets none (cancelOn), in the cancelling
// transaction.
func TestOrderConfirmationCancelledWithOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	c := confirmedOrder(t, b.mart)
	run := pendingRun(t, b, "send_order_confirmation")

	_, err := b.mart.CancelOrder(ctx, c.order.ID, "Changed my mind")
	require.NoError(t, err)
	var state string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, run.ID).Scan(&state))
	require.Equal(t, "cancelled", state)
}

// TestOrderConfirmationCrashBetweenSendAndRecord makes the statement that
// records the order confirmation's delivery (the "record" step) fail on the
// first attempt, after Resend accepted the email: the retry skips the steps
// already recorded, "send" among them, so Resend is not asked again; each
// step's output is readable in flow_steps.
func TestOrderConfirmationCrashBetweenSendAndRecord(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t)
	ctx := t.Context()
	// A trigger failing every record of an order confirmation's delivery
	// made by its job's first attempt: the statement fails, and so does its
	// write alone when the group commit writes its requests one by one
	// (the welcome email's record may share its statement).
	_, err := b.pool.Exec(ctx, `
		CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.idempotency_key LIKE 'send_order_confirmation/%'
				AND (SELECT attempt FROM river_job WHERE id = NEW.job_id) = 1 THEN
				RAISE EXCEPTION 'simulated crash before commit';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER crash_once BEFORE UPDATE ON deliveries FOR EACH ROW EXECUTE FUNCTION crash_once();`)
	require.NoError(t, err)

	c := confirmedOrder(t, b.mart)
	job := b.waitJobs(t, "send_order_confirmation", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	require.Equal(t, 2, job.Attempt)
	require.Contains(t, job.Errors[0].Error, "simulated crash before commit")

	var confirmations []providerfake.Email
	for _, r := range fake.Emails() {
		if r.Subject == confirmationSubject {
			confirmations = append(confirmations, r)
		}
	}
	require.Len(t, confirmations, 1, "the retry did not send again")
	confirmation := findDelivery(t, deliveriesTo(t, b.pool, c.customer.Email), confirmationSubject)
	require.Equal(t, "sent", confirmation.Status)
	require.Equal(t, "resend", confirmation.Provider)

	steps := jobSteps(t, b.pool, job.ID)
	require.Equal(t, []string{"load", "render", "send", "record"}, []string{steps[0].Step, steps[1].Step, steps[2].Step, steps[3].Step})
	contains(t, steps[0].Output, `"orderId": "`+c.order.ID+`"`, `"email": "`+c.customer.Email+`"`, `"totalPaise": 29800`)
	contains(t, steps[1].Output, `"subject": "`+confirmationSubject+`"`)
	require.Equal(t, `{"status": "sent", "provider": "resend", "providerMessageId": "`+confirmation.ProviderMessageID+`"}`, steps[2].Output)
	require.Equal(t, "true", steps[3].Output)
}

// TestOrderConfirmationOfAnOverflowingOrder: an order stored before
// totals were checked, whose line amount does not fit (price 2^62 paise,
// quantity 2), gets no email with a wrapped amount: its confirmation is
// cancelled with the reason, and Resend is not called.
func TestOrderConfirmationOfAnOverflowingOrder(t *testing.T) {
	t.Parallel()
	b, fake := resendBundle(t)
	// The line as an old release stored it: the price the checks now refuse.
	_, err := b.pool.Exec(t.Context(), `
		CREATE FUNCTION old_price() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN NEW.price_paise := 4611686018427387904; RETURN NEW; END $$;
		CREATE TRIGGER old_price BEFORE INSERT ON order_items FOR EACH ROW EXECUTE FUNCTION old_price();`)
	require.NoError(t, err)

	confirmedOrder(t, b.mart)
	job := b.waitJobs(t, "send_order_confirmation", 1)[0]
	require.Equal(t, rivertype.JobStateCancelled, job.State)
	require.Contains(t, job.Errors[len(job.Errors)-1].Error, "is beyond the largest total")
	for _, r := range fake.Emails() {
		require.NotContains(t, r.Subject, "Order placed", "no confirmation was sent")
	}
}

// TestOrderConfirmationProviderErrorKeepsSteps: Resend failing (500)
// after the load and render steps finished leaves them recorded (written
// with the claim, before the call): the retry skips them, sends again under
// the same idempotency key and records the rest.
func TestOrderConfirmationProviderErrorKeepsSteps(t *testing.T) {
	t.Parallel()
	fake, mailer := resendMailer(t, providerfake.Fail)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	c := confirmedOrder(t, b.mart)
	job := pendingRun(t, b, "send_order_confirmation")

	res := b.work(t, "send-order-confirmation", job.ID)
	require.ErrorContains(t, res.Err, "500")
	requireRetried(t, res)
	before := jobStepTimes(t, b.tx, job.ID)
	require.Equal(t, []string{"load", "render"}, slices.Sorted(maps.Keys(before)), "the steps before the failed send")
	require.Equal(t, "sending", findDelivery(t, deliveriesTo(t, b.tx, c.customer.Email), confirmationSubject).Status)

	res = b.work(t, "send-order-confirmation", job.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	after := jobStepTimes(t, b.tx, job.ID)
	require.Equal(t, []string{"load", "record", "render", "send"}, slices.Sorted(maps.Keys(after)))
	require.Equal(t, before["load"], after["load"], "load was not run again")
	require.Equal(t, before["render"], after["render"], "render was not run again")
	reqs := fake.Emails()
	require.Len(t, reqs, 2)
	require.Equal(t, reqs[0].Key, reqs[1].Key, "sent again under the same key")
	require.Equal(t, "sent", findDelivery(t, deliveriesTo(t, b.tx, c.customer.Email), confirmationSubject).Status)
}

// jobStepTimes returns job jobID's recorded steps and when each finished.
func jobStepTimes(t *testing.T, q db.DBTX, jobID int64) map[string]time.Time {
	t.Helper()
	rows, err := q.Query(t.Context(), `SELECT step, completed_at FROM flow_steps WHERE job_id = $1`, jobID)
	require.NoError(t, err)
	out := map[string]time.Time{}
	var (
		step string
		at   time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&step, &at}, func() error {
		out[step] = at
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestOrderConfirmationWritesTwice: an order confirmation commits its four
// step records with its two writes to deliveries: load and render with the
// claim, send and record with the record of the provider's answer.
func TestOrderConfirmationWritesTwice(t *testing.T) {
	t.Parallel()
	b, _ := resendBundle(t)
	confirmedOrder(t, b.mart)
	job := b.waitJobs(t, "send_order_confirmation", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)

	xids := map[string]string{} // the transaction that wrote each row
	rows, err := b.pool.Query(t.Context(), `
		SELECT step, xmin::text FROM flow_steps WHERE job_id = $1
		UNION ALL SELECT 'deliveries', xmin::text FROM deliveries WHERE job_id = $1`, job.ID)
	require.NoError(t, err)
	var name, xid string
	_, err = pgx.ForEachRow(rows, []any{&name, &xid}, func() error {
		xids[name] = xid
		return nil
	})
	require.NoError(t, err)
	require.Len(t, xids, 5)
	require.Equal(t, xids["load"], xids["render"], "load and render written together")
	require.Equal(t, xids["deliveries"], xids["send"], "send written with the delivery's record")
	require.Equal(t, xids["deliveries"], xids["record"], "record written with the delivery's record")
	require.NotEqual(t, xids["load"], xids["send"], "load and render were written before the provider call, with the claim")
}

// TestOrderUpdateEmails: an order's new status is emailed to its
// customer; its cancellation cancels the order's updates not yet sent
// (cancelOn) and emails the reason instead.
func TestOrderUpdateEmails(t *testing.T) {
	t.Parallel()

	t.Run("Status", func(t *testing.T) {
		t.Parallel()
		b := setupTx(t, jobs.Deps{})
		c := confirmedOrder(t, b.mart)
		res := b.work(t, "send-order-update", pendingRun(t, b, "send_order_update").ID)
		requireState(t, res, rivertype.JobStateCompleted)
		update := findDelivery(t, deliveriesTo(t, b.tx, c.customer.Email), "Your order is now: Confirmed")
		contains(t, update.Body, "Hi Arjun,", "moved from Placed to Confirmed")
	})

	t.Run("CancelledBeforeSent", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		b := setupTx(t, jobs.Deps{})
		c := confirmedOrder(t, b.mart)
		confirmed := pendingRun(t, b, "send_order_update")
		_, err := b.mart.CancelOrder(ctx, c.order.ID, "Out of dal")
		require.NoError(t, err)

		runs := pendingRuns(t, b, "send_order_update")
		require.Len(t, runs, 1, "the update not yet sent was cancelled")
		require.NotEqual(t, confirmed.ID, runs[0].ID, "the cancellation's own run stays")
		requireState(t, b.work(t, "send-order-update", runs[0].ID), rivertype.JobStateCompleted)
		cancelled := findDelivery(t, deliveriesTo(t, b.tx, c.customer.Email), "Your order was cancelled")
		contains(t, cancelled.Body, c.order.ID, "Reason: Out of dal")
		require.Empty(t, withSubject(deliveriesTo(t, b.tx, c.customer.Email), "Your order is now: Confirmed"))
	})
}

const reminderSubject = "Reminder: a confirmed order at Gupta Kirana is waiting"

// TestStalledOrderReminded: a confirmed order with no update within
// StalledOrderAfter (a second here) gets the shop's owner one reminder.
func TestStalledOrderReminded(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{deps: jobs.Deps{StalledOrderAfter: time.Second}})
	start := time.Now()
	c := confirmedOrder(t, b.mart)

	job := b.waitJobs(t, "remind_stalled_order", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "not before the order had waited")
	require.Equal(t, 1, job.Attempt, "waiting used no attempt")
	reminder := findDelivery(t, deliveriesTo(t, b.pool, c.owner.Email), reminderSubject)
	contains(t, reminder.Body, "Hi Lakshmi,", "Order "+c.order.ID+" at Gupta Kirana was confirmed")
	require.Equal(t, jobs.IdempotencyKey(eventIDOf(t, b.pool, "order/updated"), "remind_stalled_order", c.owner.Email), reminder.Key)
	steps := jobSteps(t, b.pool, job.ID)
	require.Equal(t, "wait for update", steps[0].Step)
	require.Equal(t, `{"event": null}`, steps[0].Output)
}

// TestStalledOrderWaitResults runs the reminder with the result of its
// wait given: a wait that timed out reminds the owner at once; one that
// got the order's next update ends without a message.
func TestStalledOrderWaitResults(t *testing.T) {
	t.Parallel()

	t.Run("TimedOut", func(t *testing.T) {
		t.Parallel()
		b := setupTx(t, jobs.Deps{})
		c := confirmedOrder(t, b.mart)
		res := b.work(t, "remind-stalled-order", pendingRun(t, b, "remind_stalled_order").ID,
			fntest.Step("wait for update", flow.WaitResult(nil)))
		requireState(t, res, rivertype.JobStateCompleted)
		require.Subset(t, slices.Collect(maps.Keys(res.Steps)), []string{"load", "render", "send", "record"})
		contains(t, string(res.Steps["load"]), `"status": "confirmed"`, `"ownerEmail": "`+c.owner.Email+`"`)
		reminder := findDelivery(t, deliveriesTo(t, b.tx, c.owner.Email), reminderSubject)
		contains(t, reminder.Body, "Hi Lakshmi,", "Order "+c.order.ID+" at Gupta Kirana was confirmed", "30 minutes")
	})

	t.Run("Updated", func(t *testing.T) {
		t.Parallel()
		b := setupTx(t, jobs.Deps{})
		c := confirmedOrder(t, b.mart)
		packed := event(t, events.OrderUpdated{OrderID: c.order.ID, UserID: c.customer.ID, Status: mart.StatusPacked, PreviousStatus: mart.StatusConfirmed})
		res := b.work(t, "remind-stalled-order", pendingRun(t, b, "remind_stalled_order").ID,
			fntest.Step("wait for update", flow.WaitResult(&packed)))
		requireState(t, res, rivertype.JobStateCompleted)
		require.NotContains(t, res.Steps, "send")
		require.Empty(t, withSubject(deliveriesTo(t, b.tx, c.owner.Email), reminderSubject))
	})
}

// TestStalledOrderUpdatedInTime: an order packed within StalledOrderAfter
// ends its reminder without a message, whether the update came while the
// reminder waited (it wakes it) or before it began to (it finds it).
func TestStalledOrderUpdatedInTime(t *testing.T) {
	t.Parallel()
	b := setup(t, bundleOpts{deps: jobs.Deps{StalledOrderAfter: time.Hour}})
	c := confirmedOrder(t, b.mart)
	_, err := b.mart.UpdateOrderStatus(t.Context(), c.order.ID, mart.StatusPacked)
	require.NoError(t, err)

	job := b.waitJobs(t, "remind_stalled_order", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	steps := jobSteps(t, b.pool, job.ID)
	require.Len(t, steps, 1)
	contains(t, steps[0].Output, `"status": "packed"`)
	require.Empty(t, withSubject(deliveriesTo(t, b.pool, c.owner.Email), reminderSubject))
}

// TestStalledOrderCancelledNotReminded: an order cancelled while its
// reminder waits parked gets no reminder: order/cancelled cancels the
// parked run (cancelOn) in the cancelling transaction.
func TestStalledOrderCancelledNotReminded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t, jobs.Deps{})
	c := confirmedOrder(t, b.mart)
	job := pendingRun(t, b, "remind_stalled_order")

	res := b.work(t, "remind-stalled-order", job.ID)
	requireState(t, res, rivertype.JobStateScheduled)
	require.WithinDuration(t, time.Now().Add(jobs.StalledOrderAfter), res.Job.ScheduledAt, time.Minute, "parked for StalledOrderAfter")
	_, err := b.mart.CancelOrder(ctx, c.order.ID, "Out of dal")
	require.NoError(t, err)

	// cancelOn: the cancellation cancelled the parked reminder in its own
	// transaction, so it never runs again and nothing is sent.
	var state string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, job.ID).Scan(&state))
	require.Equal(t, "cancelled", state)
	require.Empty(t, withSubject(deliveriesTo(t, b.tx, c.owner.Email), reminderSubject))
}

// TestOrderConfirmationAlreadySentBySameKey: a second confirmation run for
// the same event (a replay, a duplicate) finds its message already sent
// under the idempotency key: it sends nothing and records both steps.
func TestOrderConfirmationAlreadySentBySameKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake, mailer := resendMailer(t)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	confirmedOrder(t, b.mart)
	first := pendingRun(t, b, "send_order_confirmation")
	requireState(t, b.work(t, "send-order-confirmation", first.ID), rivertype.JobStateCompleted)

	again, err := b.client.InsertTx(ctx, b.tx, handRun{kind: first.Kind, args: string(first.EncodedArgs)}, &river.InsertOpts{Queue: first.Queue})
	require.NoError(t, err)
	res := b.work(t, "send-order-confirmation", again.Job.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	require.Len(t, fake.Emails(), 1, "not sent again")
	require.Len(t, res.Steps, 4)
	require.JSONEq(t, `{"alreadyRecorded": true}`, string(res.Steps["send"]))
	require.JSONEq(t, `false`, string(res.Steps["record"]))
}
