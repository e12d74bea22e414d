package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/examples"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// Example_customFunction runs the seed's custom-function: declared once,
// registered, and started by a custom/event published in a transaction.
func Example_customFunction() {
	ctx := context.Background()
	url, drop, err := dbtest.NewDatabase(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer drop() //nolint:errcheck
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// Registering the declaration is the only wiring: the registry gives
	// the outbox its routing and River its worker.
	reg, err := fn.NewRegistry(examples.CustomFunction())
	if err != nil {
		log.Fatal(err)
	}
	workers := river.NewWorkers()
	if err := reg.AddWorkers(workers, fn.Runtime{DB: pool}); err != nil {
		log.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:  map[string]river.QueueConfig{fn.QueueDefault: {MaxWorkers: 1}},
		Workers: workers, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	done, cancel := client.Subscribe(river.EventKindJobCompleted) // only for the example: to know when it ran
	defer cancel()
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer client.Stop(ctx) //nolint:errcheck

	// inngest.send({ name: "custom/event", data: { userId: "u-1" } }), in
	// the transaction of the write it belongs to.
	err = db.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, err := outbox.New(client, reg).Publish(ctx, tx, events.Event{Name: "custom/event", Data: json.RawMessage(`{"userId": "u-1"}`)})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	run := <-done
	fmt.Println(run.Job.Kind, run.Job.State)

	var output string
	err = pool.QueryRow(ctx, `SELECT output::text FROM flow_steps WHERE job_id = $1 AND step = 'process-data'`, run.Job.ID).Scan(&output)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("process-data:", output)

	// Output:
	// custom_function completed
	// process-data: {"success": true}
}
