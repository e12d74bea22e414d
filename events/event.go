package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Event is one published event, shaped like an Inngest event.
type Event struct {
	// ID is the client-supplied id, used to deduplicate a retried send (the
	// same name and data), or "" to have the outbox generate a ULID.
	ID string
	// Name is the event name, such as "user/created" ([NameUserCreated]).
	Name string
	// Data is the event's payload as a JSON object. Nil, empty or `null`
	// means {}.
	Data json.RawMessage
	// TS is when the event happened. The zero time means "now" and is
	// filled in by the publisher; any other must fall in the years 2000 to
	// 9999 (see [TSProblem]).
	TS time.Time
	// Source is free text naming where the event came from ("app",
	// "http", ...). It is stored in events.source.
	Source string
}

// Payload is implemented by every typed payload struct of the catalog. Its
// EventName is the catalog name of the event the payload belongs to.
//
// The payload structs implement it with value receivers, so both a value
// and a pointer satisfy it.
type Payload interface {
	EventName() string
}

// New builds an Event named p.EventName() whose Data is p marshaled to
// JSON. ID, TS and Source are left empty for the caller or the publisher to
// fill in.
//
// New does not validate; the publisher does, and a payload built from
// zero values (an empty required id, say) is reported then. New returns an
// error if p is nil or a nil pointer, or if it cannot be marshaled.
func New(p Payload) (Event, error) {
	if p == nil {
		return Event{}, errors.New("error building event: payload is nil")
	}
	if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
		return Event{}, fmt.Errorf("error building event: payload %T is a nil pointer", p)
	}

	name := p.EventName()
	data, err := json.Marshal(p)
	if err != nil {
		return Event{}, fmt.Errorf("error marshaling %s payload: %w", name, err)
	}

	return Event{Name: name, Data: data}, nil
}

// Decode validates ev and decodes its Data into the typed payload of
// ev.Name. The payload is returned as a value (UserCreated, not
// *UserCreated), so callers type-switch on the value types.
//
// Decode is for events already stored (a worker's, a replay's): it checks
// ev like [Validate] except for the rules only new events are held to, ts's
// range and ids as UUIDs, so an event stored before they existed still
// decodes.
//
// An invalid event yields a [*ValidationError]. A valid event whose name is
// not in the catalog (a custom event) yields (nil, nil).
func Decode(ev Event) (Payload, error) {
	if err := validateAll([]Event{ev}, false); err != nil {
		return nil, err
	}
	return decode(ev)
}

// DecodeAll validates a batch of new events like [ValidateAll] and, when
// every event is valid, decodes each like [Decode]: payloads[i] is evs[i]'s
// typed payload, nil for a custom event. Each event is validated once.
func DecodeAll(evs []Event) ([]Payload, error) {
	if err := ValidateAll(evs); err != nil {
		return nil, err
	}
	payloads := make([]Payload, len(evs))
	for i, ev := range evs {
		p, err := decode(ev)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		payloads[i] = p
	}
	return payloads, nil
}

// decode decodes a validated event's data into its typed payload.
func decode(ev Event) (Payload, error) {
	spec, ok := lookup(ev.Name)
	if !ok {
		return nil, nil //nolint:nilnil // custom events have no typed payload, as documented
	}

	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		data = []byte("{}")
	}

	ptr := reflect.New(reflect.TypeOf(spec.payload))
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s data: %w", ev.Name, err)
	}

	payload, ok := ptr.Elem().Interface().(Payload)
	if !ok {
		return nil, fmt.Errorf("decode %s data: %T is not a payload", ev.Name, ptr.Elem().Interface())
	}

	return payload, nil
}
