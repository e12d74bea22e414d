package outbox_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/outbox"
)

// BenchmarkPublish measures a committed transaction that publishes events
// through the outbox (validation, event rows, routing, River jobs: one run
// of one function per event), against the baseline of River alone inserting
// the same jobs with no event log. The ratio of the two is the outbox's
// overhead.
func BenchmarkPublish(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("Outbox/events=%d", batch), func(b *testing.B) {
			ctx := b.Context()
			pool := dbtest.NewPool(ctx, b)
			client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
			if err != nil {
				b.Fatal(err)
			}
			ob := outbox.New(client, testRegistry(b))
			evs := make([]events.Event, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				for j := range evs {
					evs[j] = events.Event{Name: thingEvent, Data: json.RawMessage(fmt.Sprintf(`{"thingId":"t%d-%d"}`, i, j))}
				}
				if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := ob.Publish(ctx, tx, evs...)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("RiverOnly/events=%d", batch), func(b *testing.B) {
			ctx := b.Context()
			pool := dbtest.NewPool(ctx, b)
			client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
			if err != nil {
				b.Fatal(err)
			}
			params := make([]river.InsertManyParams, 0, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				params = params[:0]
				for j := range batch {
					id := fmt.Sprintf("e%d-%d", i, j)
					params = append(params, river.InsertManyParams{Args: thingArgs{EventID: id, V: 1}, InsertOpts: &river.InsertOpts{Queue: "things"}})
				}
				if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := client.InsertManyTx(ctx, tx, params)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// thingArgs are the args of a test-thing run, as fn inserts them.
type thingArgs struct {
	EventID string `json:"event_id"`
	V       int    `json:"v"`
}

func (thingArgs) Kind() string { return "test_thing" }
