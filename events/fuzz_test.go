package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzDecodeEvent decodes arbitrary names, data and times (epoch
// milliseconds, 0 for none): Decode never panics; it fails only with a
// *ValidationError naming each failing field; a catalog event it accepts
// decodes into its own payload, which New encodes back into an event
// Decode accepts again with the same payload. A new event Validate accepts
// has a ts in the years 2000 to 9999 (or none), Decode accepts too, and
// Normalize keeps valid, once and for all.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(NameUserCreated, []byte(`{"userId":"10000000-0000-4000-8000-000000000001","email":"a@example.com","name":"A","phone":"+919800000001"}`), int64(0))
	f.Add(NameOrderCreated, []byte(`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001",`+
		`"shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":2,"pricePaise":100}],"totalPaise":200}`),
		int64(1735689600000))
	f.Add(NameNotificationSend, []byte(`{"channel":"sms","to":"+919800000001","message":"hi"}`), int64(0))
	f.Add(NameAnalyticsTrack, []byte(`{"event":"page_view","properties":{"a":[1,{"b":null}]}}`), int64(0))
	f.Add("app/custom", []byte(`{"n":1e131072}`), int64(0))
	f.Add(NameUserCreated, []byte("{\"userId\":\"\xff\",\"UserID\":1}"), int64(0))
	f.Fuzz(func(t *testing.T, name string, data []byte, ms int64) {
		ev := Event{Name: name, Data: data}
		if ms != 0 {
			ev.TS = time.UnixMilli(ms)
		}
		if Validate(ev) == nil {
			if !ev.TS.IsZero() && TSProblem(ev.TS) != "" {
				t.Fatalf("Validate accepted ts %d", ms)
			}
			if _, err := Decode(ev); err != nil {
				t.Fatalf("Validate accepted %q %q, Decode refused it: %v", name, data, err)
			}
			n := Normalize(ev)
			if err := Validate(n); err != nil {
				t.Fatalf("Normalize(%q) gave %q, which is refused: %v", data, n.Data, err)
			}
			if again := Normalize(n); string(again.Data) != string(n.Data) {
				t.Fatalf("Normalize is not idempotent: %q → %q → %q", data, n.Data, again.Data)
			}
		}

		p, err := Decode(ev)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Decode(%q, %q): %v is not a ValidationError naming a field", name, data, err)
			}
			for _, fe := range ve.Fields {
				if fe.Message == "" {
					t.Fatalf("Decode(%q, %q): field %q without a message", name, data, fe.Field)
				}
			}
			return
		}
		if !Known(name) {
			if p != nil {
				t.Fatalf("custom event %q decoded into %T", name, p)
			}
			return
		}
		if p.EventName() != name {
			t.Fatalf("Decode(%q) gave a %s payload", name, p.EventName())
		}
		again, err := New(p)
		if err != nil {
			t.Fatalf("New(%#v): %v", p, err)
		}
		p2, err := Decode(again)
		if err != nil {
			t.Fatalf("the accepted %q, encoded again as %s, is refused: %v", data, again.Data, err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(p2)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the payload: %s → %s", a, b)
		}
	})
}
