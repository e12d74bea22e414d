package flow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/flow"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// awaitPaymentArgs are the args of the example's function: wait for an
// order's payment, then mark the order paid.
type awaitPaymentArgs struct {
	OrderID string `json:"orderId"`
}

func (awaitPaymentArgs) Kind() string { return "await_payment" }

type awaitPaymentWorker struct {
	river.WorkerDefaults[awaitPaymentArgs]

	pool *pgxpool.Pool
}

// Work is the function, written as steps.
func (w *awaitPaymentWorker) Work(ctx context.Context, job *river.Job[awaitPaymentArgs]) error {
	return flow.Do(ctx, w.pool, job.JobRow, func(ctx context.Context) error {
		total, err := flow.Run(ctx, "load total", func(ctx context.Context) (int64, error) {
			fmt.Println("load total: runs once") // skipped when the job runs again
			return 24900, nil
		})
		if err != nil {
			return err
		}

		payment, paid, err := flow.WaitForEvent(ctx, "wait for payment", flow.Wait{
			Event: "payment/received", Key: "orderId", Value: job.Args.OrderID, Timeout: 24 * time.Hour,
		})
		if flow.IsParked(err) {
			fmt.Println("parked until payment/received arrives") // no worker is held meanwhile
		}
		if err != nil || !paid {
			return err
		}

		_, err = flow.RunTx(ctx, "mark paid", func(ctx context.Context, tx pgx.Tx) (string, error) {
			// An UPDATE orders ... in tx commits with this step's record.
			fmt.Printf("mark paid: %s for %d paise\n", payment.Data, total)
			return "paid", nil
		})
		return err
	})
}

// Example runs a function of steps on a River client: it parks on
// WaitForEvent until outbox.Publish commits the payment event, then goes on
// without running its first step again. The steps' outputs are rows of
// flow_steps.
func Example() {
	ctx := context.Background()
	url, drop, err := dbtest.NewDatabase(ctx) // in an app: your DATABASE_URL
	if err != nil {
		log.Fatal(err)
	}
	defer drop() //nolint:errcheck
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	workers := river.NewWorkers()
	river.AddWorker(workers, &awaitPaymentWorker{pool: pool})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Only for the example: to know when the job has parked and finished.
	outcomes, cancel := client.Subscribe(river.EventKindJobSnoozed, river.EventKindJobCompleted)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer client.Stop(ctx) //nolint:errcheck

	// The outbox's router: here no declared function is triggered by the
	// payment, whose Publish only wakes the waiting job.
	reg, err := fn.NewRegistry()
	if err != nil {
		log.Fatal(err)
	}

	res, err := client.Insert(ctx, awaitPaymentArgs{OrderID: "o-1"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	<-outcomes // parked

	// The payment arrives in a transaction of its own; Publish wakes the
	// waiting job in it, so the job runs again once it commits.
	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	_, err = outbox.New(client, reg).Publish(ctx, tx, events.Event{
		ID: "pay-1", Name: "payment/received", TS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Data: json.RawMessage(`{"orderId":"o-1","amountPaise":24900}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	<-outcomes // completed

	rows, err := pool.Query(ctx, `SELECT step, output FROM flow_steps WHERE job_id = $1 ORDER BY completed_at`, res.Job.ID)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			step   string
			output []byte
		)
		if err := rows.Scan(&step, &output); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s | %s\n", step, output)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}

	// Output:
	// load total: runs once
	// parked until payment/received arrives
	// mark paid: {"orderId": "o-1", "amountPaise": 24900} for 24900 paise
	// load total | 24900
	// wait for payment | {"event": {"id": "pay-1", "ts": "2025-01-01T00:00:00Z", "data": {"orderId": "o-1", "amountPaise": 24900}, "name": "payment/received"}}
	// mark paid | "paid"
}
