package limit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/limit"
)

// Example takes slots under a rule of at most 2 calls a second to a
// provider. The third caller gets a *limit.FullError saying how long to
// wait; returned from a River worker, it snoozes the job without using an
// attempt. Every process using the same database shares the limit.
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

	limiter := limit.New(pool, nil)
	rule := limit.Rule{Key: "resend", Rate: 2, Per: time.Second, Lease: 30 * time.Second}
	for i := range 3 {
		slot, err := limiter.Acquire(ctx, rule, int64(i+1))
		var full *limit.FullError
		if errors.As(err, &full) {
			fmt.Printf("call %d: wait about %s\n", i+1, full.Wait.Round(time.Second))
			var snooze *river.JobSnoozeError
			fmt.Println("snoozes a job:", errors.As(err, &snooze))
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("call %d: go\n", i+1) // call the provider here, then:
		if err := slot.Release(ctx); err != nil {
			log.Fatal(err)
		}
	}

	var counting int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM limit_slots WHERE key = 'resend'`).Scan(&counting); err != nil {
		log.Fatal(err)
	}
	fmt.Println("slots counting:", counting)
	// Output:
	// call 1: go
	// call 2: go
	// call 3: wait about 1s
	// snoozes a job: true
	// slots counting: 2
}
