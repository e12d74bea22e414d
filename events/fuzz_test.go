package events

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeEvent decodes arbitrary names and data: Decode never panics; it
// fails only with a *ValidationError naming each failing field; a catalog
// event it accepts decodes into its own payload, which New encodes back
// into an event Decode accepts again with the same payload.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(NameUserCreated, []byte(`{"userId":"u1","email":"a@example.com","name":"A","phone":"+919800000001"}`))
	f.Add(NameOrderCreated, []byte(`{"orderId":"o","userId":"u","shopId":"s","items":[{"productId":"p","quantity":2,"pricePaise":100}],"totalPaise":200}`))
	f.Add(NameNotificationSend, []byte(`{"channel":"sms","to":"+919800000001","message":"hi"}`))
	f.Add(NameAnalyticsTrack, []byte(`{"event":"page_view","properties":{"a":[1,{"b":null}]}}`))
	f.Add("app/custom", []byte(`{"n":1e131072}`))
	f.Add(NameUserCreated, []byte("{\"userId\":\"\xff\",\"UserID\":1}"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		p, err := Decode(Event{Name: name, Data: data})
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
