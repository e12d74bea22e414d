package events

import (
	"fmt"
	"strings"
)

// FieldError names one failing field of one event.
type FieldError struct {
	// Index is the event's position in the batch; 0 for a single event.
	Index int
	// Field is the path inside the event: "name", "ts", "data",
	// "data.email", "data.items[0].quantity".
	Field string
	// Message says what is wrong, in lowercase: "is required",
	// "must be a string", "must be > 0", "must be valid UTF-8", ...
	Message string
	// NotUUID is set when Field is an id that the catalog marks as a UUID
	// (one the event's jobs look a row up by), and it is a non-empty string
	// but not a UUID. The event is well formed, but names nothing this service can
	// hold: the HTTP API answers 422, not 400, when all failures are such.
	NotUUID bool
}

// ValidationError lists every failing field of every event checked by
// [Validate], [ValidateAll] or [Decode]. Callers get it with errors.As and
// turn Fields into the HTTP API's error details.
type ValidationError struct {
	// Fields are the failures, in event order and, within an event, the
	// name, the ts, the data as a whole, then the catalog's fields in catalog order
	// and properties outside the catalog last, by path.
	Fields []FieldError
	// Batch is set when more than one event was checked; Error then
	// prefixes each path with "events[i].".
	Batch bool
}

// Error joins the failures as "events[1].data.email: is required; ...".
// The "events[i]." prefix is left out when a single event was checked.
func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return "invalid event"
	}

	prefixed := e.Batch
	for _, f := range e.Fields {
		if f.Index != 0 {
			prefixed = true
		}
	}

	var b strings.Builder
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		if prefixed {
			fmt.Fprintf(&b, "events[%d].", f.Index)
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}
