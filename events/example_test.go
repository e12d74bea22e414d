package events_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mohallamart/backend/events"
)

// Build an event from a typed payload, validate it, and decode it back the
// way a worker would.
func ExampleNew() {
	ev, err := events.New(events.OrderCancelled{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001", Reason: "changed my mind"})
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.Name)
	fmt.Println(string(ev.Data))
	fmt.Println("valid:", events.Validate(ev) == nil)

	payload, err := events.Decode(ev)
	if err != nil {
		panic(err)
	}
	if p, ok := payload.(events.OrderCancelled); ok {
		fmt.Println("reason:", p.Reason)
	}

	// Output:
	// order/cancelled
	// {"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","reason":"changed my mind"}
	// valid: true
	// reason: changed my mind
}

// Validation reports every failing field at once. Fields the catalog does
// not list (coupon) are accepted and ignored.
func ExampleValidate() {
	err := events.Validate(events.Event{
		Name: events.NameOrderCreated,
		Data: json.RawMessage(`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":0,"pricePaise":1249}],"totalPaise":"12.49","coupon":"X"}`),
	})

	var verr *events.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Message)
		}
	}

	// Output:
	// data.shopId: is required
	// data.items[0].quantity: must be > 0
	// data.totalPaise: must be an integer
}

// A batch is checked as a whole; each failure names its event.
func ExampleValidateAll() {
	err := events.ValidateAll([]events.Event{
		{Name: events.NameUserDeleted, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001"}`)},
		{Name: events.NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000002","email":"not-an-email","name":"Ravi"}`)},
		{Name: "app/custom_event", Data: json.RawMessage(`{"anything":true}`)},
	})
	fmt.Println(err)

	// Output:
	// events[1].data.email: must be a valid email address
}
