package events_test

import (
	"testing"

	"github.com/mohallamart/backend/events"
)

// BenchmarkDecodeAll measures validating and decoding a batch of 100
// order/created events, the outbox's per-event CPU cost.
func BenchmarkDecodeAll(b *testing.B) {
	evs := make([]events.Event, 100)
	for i := range evs {
		ev, err := events.New(events.OrderCreated{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001", ShopID: "20000000-0000-4000-8000-000000000001", TotalPaise: 2498,
			Items: []events.OrderItem{{ProductID: "40000000-0000-4000-8000-000000000001", Quantity: 2, PricePaise: 1249}}})
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = ev
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.DecodeAll(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkNormalize measures the outbox's look for upper-case UUIDs in an
// event that has none but does have upper-case text (a name), as most
// events from app code do.
func BenchmarkNormalize(b *testing.B) {
	ev, err := events.New(events.UserCreated{UserID: "10000000-0000-4000-8000-000000000001", Email: "arjun@example.com", Name: "Arjun Sharma"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		events.Normalize(ev)
	}
}
