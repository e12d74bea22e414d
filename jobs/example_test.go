package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/jobs"
)

// GreetShopArgs are the args of the greet_shop job: it logs a greeting to
// a new shop. In the codebase a kind's args live in package jobargs, one file
// per kind, so that code which only enqueues (the outbox, the API) does not
// link the workers.
type GreetShopArgs struct {
	// ShopName is the shop to greet. Args are stored as JSON in river_job:
	// keep them small, and read anything large from the database when the
	// job runs (as event-triggered jobs read their event by event_id).
	ShopName string `json:"shop_name"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (GreetShopArgs) Kind() string { return "greet_shop" }

// InsertOpts puts the job in the maintenance queue with 5 attempts.
func (GreetShopArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobargs.QueueMaintenance, MaxAttempts: 5}
}

// GreetShopWorker works greet_shop. In the codebase a worker lives in
// package jobs, reads its dependencies from Deps, and is listed in
// (*Deps).workers() so that AddWorkers registers it.
type GreetShopWorker struct {
	river.WorkerDefaults[GreetShopArgs]

	DB db.DB
}

// Timeout bounds one attempt.
func (w *GreetShopWorker) Timeout(*river.Job[GreetShopArgs]) time.Duration { return 10 * time.Second }

// Work writes the greeting and completes the job in one transaction
// (river.JobCompleteTx), so a retry never greets twice.
func (w *GreetShopWorker) Work(ctx context.Context, job *river.Job[GreetShopArgs]) error {
	return db.InTx(ctx, w.DB, func(tx pgx.Tx) error {
		err := db.New(tx).AppLogInsert(ctx, db.AppLogInsertParams{
			Level: "info", Message: "Namaste, " + job.Args.ShopName + "!", Attrs: json.RawMessage(`{}`),
		})
		if err != nil {
			return fmt.Errorf("greet shop: %w", err)
		}
		if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
			return fmt.Errorf("greet shop: complete: %w", err)
		}
		return nil
	})
}

// Example adds a job kind, greet_shop, next to the codebase's own: register
// its worker, insert a job in the transaction of the write that calls for
// it, and let River work it.
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

	// Register the new worker alongside every other kind.
	workers := river.NewWorkers()
	if err := jobs.AddWorkers(workers, jobs.Deps{DB: pool}); err != nil {
		log.Fatal(err)
	}
	if err := river.AddWorkerSafely(workers, &GreetShopWorker{DB: pool}); err != nil {
		log.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Queues: jobs.Queues(jobs.DefaultQueueWorkers(), 5*time.Millisecond, time.Second), Workers: workers})
	if err != nil {
		log.Fatal(err)
	}
	// Subscribe before Start, so the job cannot finish unseen.
	finished, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer client.Stop(ctx) //nolint:errcheck

	// Insert the job in the transaction of the write that calls for it:
	// both commit, or neither does.
	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	// ... the app's own writes in tx: INSERT INTO shops ...
	res, err := client.InsertTx(ctx, tx, GreetShopArgs{ShopName: "Gupta Kirana"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("inserted", res.Job.Kind, "in queue", res.Job.Queue)

	// Wait for River to work it.
	for ev := range finished {
		if ev.Job.ID == res.Job.ID {
			fmt.Println(ev.Job.Kind, ev.Job.State, "on attempt", ev.Job.Attempt)
			break
		}
	}
	var greeting string
	if err := pool.QueryRow(ctx, `SELECT message FROM app_logs`).Scan(&greeting); err != nil {
		log.Fatal(err)
	}
	fmt.Println(greeting)
	// Output:
	// inserted greet_shop in queue maintenance
	// greet_shop completed on attempt 1
	// Namaste, Gupta Kirana!
}
