package outbox_test

import (
	"context"
	"fmt"
	"log"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/outbox"
)

// Example shows app code publishing an event in its own transaction: the
// event row and the runs of the functions it triggers commit with the app's
// write, or not at all.
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

	// The app's functions: a Registry derived from their declarations is
	// the outbox's router. This process only enqueues their runs; workers
	// elsewhere (Registry.AddWorkers) work them.
	greet := fn.New(fn.Options{ID: "greet-new-user", Queue: "email"}, fn.On(events.NameUserCreated),
		func(ctx context.Context, in fn.Input[events.UserCreated]) (any, error) {
			return "greeted " + in.Data.Email, nil // a real one sends an email
		})
	reg, err := fn.NewRegistry(greet)
	if err != nil {
		log.Fatal(err)
	}
	// An insert-only River client.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ob := outbox.New(client, reg)

	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	// ... the app's own writes in tx: INSERT INTO users ...
	ev, err := events.New(events.UserCreated{UserID: "6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21", Email: "asha@example.com", Name: "Asha"})
	if err != nil {
		log.Fatal(err)
	}
	ev.ID = "signup-asha" // optional: a retried request with the same id enqueues nothing new
	ids, err := ob.Publish(ctx, tx, ev)
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("published", ids[0])

	rows, err := pool.Query(ctx, "SELECT kind, queue FROM river_job WHERE args->>'event_id' = $1 ORDER BY kind", ids[0])
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, queue string
		if err := rows.Scan(&kind, &queue); err != nil {
			log.Fatal(err)
		}
		fmt.Println(kind, "in queue", queue)
	}
	// Output:
	// published signup-asha
	// greet_new_user in queue email
}

// ExampleOutbox_Queue sends an app's write and its event to PostgreSQL in
// one round trip: the write and the publish's statement go in one batch,
// and the func Queue returns finishes the publish once the batch is read.
func ExampleOutbox_Queue() {
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
	greet := fn.New(fn.Options{ID: "greet-new-user", Queue: "email"}, fn.On(events.NameUserCreated),
		func(ctx context.Context, in fn.Input[events.UserCreated]) (any, error) { return "greeted", nil })
	reg, err := fn.NewRegistry(greet)
	if err != nil {
		log.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ob := outbox.New(client, reg)

	// The event names the user's id, so the app makes it.
	const userID = "6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a22"
	ev, err := events.New(events.UserCreated{UserID: userID, Email: "ravi@example.com", Name: "Ravi"})
	if err != nil {
		log.Fatal(err)
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO users (id, email, name) VALUES ($1, 'ravi@example.com', 'Ravi')`, userID)
	finish, err := ob.Queue(&b, ev)
	if err != nil {
		log.Fatal(err) // an invalid event: nothing was queued
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		log.Fatal(err)
	}
	ids, err := finish(ctx, tx)
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	var kind string
	if err := pool.QueryRow(ctx, "SELECT kind FROM river_job WHERE args->>'event_id' = $1", ids[0]).Scan(&kind); err != nil {
		log.Fatal(err)
	}
	fmt.Println(kind)
	// Output:
	// greet_new_user
}
