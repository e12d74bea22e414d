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
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/outbox"
)

// shopOpened is the data of shop/opened, a custom event (not in the
// catalog): the handler gets it decoded.
type shopOpened struct {
	ShopName string `json:"shopName"`
}

// greetShop declares the greet-shop function: on shop/opened it logs a
// greeting to the new shop. In the codebase a function is a method of
// Deps in package jobs, in a file of its own, listed in functions(); its
// River kind is its id with '_' for '-' (greet_shop), stored in river_job:
// never rename it.
func greetShop(d db.DB) *fn.Function {
	return fn.New(fn.Options{ID: "greet-shop", Queue: jobs.QueueMaintenance, Retries: 4},
		fn.On("shop/opened"),
		func(ctx context.Context, in fn.Input[shopOpened]) (any, error) {
			// A step whose work is in the database: the greeting and the
			// step's record commit together, so a retry never greets twice.
			return fn.RunTx(ctx, "greet", func(ctx context.Context, tx pgx.Tx) (string, error) {
				greeting := "Namaste, " + in.Data.ShopName + "!"
				err := db.New(tx).AppLogInsert(ctx, db.AppLogInsertParams{Level: "info", Message: greeting, Attrs: json.RawMessage(`{}`)})
				return greeting, err
			})
		})
}

// Example declares a function, greet-shop, builds its registry (the
// routing table, the worker), publishes its event in the transaction of the
// write that calls for it, and lets River run it.
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

	// The registry derives the routing and the worker from the declaration.
	reg, err := fn.NewRegistry(greetShop(pool))
	if err != nil {
		log.Fatal(err)
	}
	workers := river.NewWorkers()
	if err := reg.AddWorkers(workers, fn.Runtime{DB: pool}); err != nil {
		log.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Queues: jobs.Queues(jobs.DefaultQueueWorkers(), 5*time.Millisecond, time.Second), Workers: workers})
	if err != nil {
		log.Fatal(err)
	}
	// Subscribe before Start, so the run cannot finish unseen.
	finished, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer client.Stop(ctx) //nolint:errcheck

	// Publish the event in the transaction of the write that calls for it:
	// the write, the event and its run commit together, or none does.
	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	// ... the app's own writes in tx: INSERT INTO shops ...
	ids, err := outbox.New(client, reg).Publish(ctx, tx, events.Event{Name: "shop/opened", Data: json.RawMessage(`{"shopName": "Gupta Kirana"}`)})
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("published shop/opened")

	// Wait for River to run it.
	for ev := range finished {
		var args fn.Args
		if json.Unmarshal(ev.Job.EncodedArgs, &args) == nil && args.EventID == ids[0] {
			fmt.Println(ev.Job.Kind, "in queue", ev.Job.Queue, ev.Job.State, "on attempt", ev.Job.Attempt)
			break
		}
	}
	var greeting string
	if err := pool.QueryRow(ctx, `SELECT message FROM app_logs`).Scan(&greeting); err != nil {
		log.Fatal(err)
	}
	fmt.Println(greeting)
	// Output:
	// published shop/opened
	// greet_shop in queue maintenance completed on attempt 1
	// Namaste, Gupta Kirana!
}
