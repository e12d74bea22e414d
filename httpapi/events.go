package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/outbox"
)

// Limits of the event API (see the event API rules in docs/http-api.md).
const (
	maxEventBytes       = 256 << 10
	maxEventsBodyBytes  = 3 << 20
	maxEventsPerRequest = 1000
	maxEventIDLength    = 256
)

// wireEvent is one event as Inngest's SDKs send it.
type wireEvent struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data"`
	ID   string          `json:"id"`
	// TS is when the event happened: epoch milliseconds (Inngest) or an
	// RFC 3339 string; absent or 0 means now.
	TS json.RawMessage `json:"ts"`
	// User and V (the payload version) are accepted for compatibility and
	// not stored.
	User json.RawMessage `json:"user"`
	V    string          `json:"v"`
}

// eventsAnswer is Inngest's event API answer, which inngest.send() parses.
type eventsAnswer struct {
	IDs    []string `json:"ids"`
	Status int      `json:"status"`
}

// postEvents serves POST /v1/events and POST /e/{eventKey}: one event or an
// array, stored with their jobs in one transaction.
func (s *server) postEvents(w http.ResponseWriter, r *http.Request) {
	evs, batch, err := decodeEvents(w, r)
	if err == nil {
		err = reservedNames(evs, batch)
	}
	if err == nil {
		err = s.applyKeyScope(r.Context(), evs, batch)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, err := s.publish(r.Context(), evs, batch)
	if verr, ok := errors.AsType[*events.ValidationError](err); ok {
		// Publish validated the events (once; decodeEvents did not).
		err = refusedEvents(batch, verr)
	}
	if conflict, ok := errors.AsType[*outbox.IDConflictError](err); ok {
		err = takenIDs(batch, conflict)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Metrics.observeEvents(evs, s.routed)
	s.logUnrouted(r.Context(), evs)
	writeJSON(w, http.StatusOK, eventsAnswer{IDs: ids, Status: http.StatusOK})
}

// publish checks that the rows the events name are stored (checkRefs),
// then stores evs and enqueues their jobs, in one transaction.
func (s *server) publish(ctx context.Context, evs []events.Event, batch bool) ([]string, error) {
	var ids []string
	err := db.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		if err := checkRefs(ctx, db.New(tx), evs, batch); err != nil {
			return err
		}
		var err error
		ids, err = s.Outbox.Publish(ctx, tx, evs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("publish events: %w", err)
	}
	return ids, nil
}

// decodeEvents reads and checks an event API body: the size and count
// limits, the JSON and each event's wire fields (id, ts, unknown keys). It
// reports whether the body was an array. The catalog's validation of names
// and data is left to outbox.Publish, so each event is validated once;
// only when the wire fields are already wrong does decodeEvents run it too,
// on the events whose name and data could be read, to list every problem
// of the request in one answer.
func decodeEvents(w http.ResponseWriter, r *http.Request) ([]events.Event, bool, error) {
	body, err := readBody(w, r, maxEventsBodyBytes)
	if err != nil {
		return nil, false, err
	}

	var raws []json.RawMessage
	batch := len(body) > 0 && body[0] == '['
	switch {
	case len(body) == 0:
		return nil, false, invalid("The request body is empty; send an event object or an array of events.")
	case batch:
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, false, invalid("The request body is not valid JSON: " + jsonMessage(err))
		}
	case body[0] == '{':
		if !json.Valid(body) {
			return nil, false, invalid("The request body is not valid JSON: " + jsonMessage(json.Unmarshal(body, new(any))))
		}
		raws = []json.RawMessage{body}
	default:
		return nil, false, invalid("The request body must be an event object or an array of events.")
	}
	switch {
	case len(raws) == 0:
		return nil, false, invalid("The request has no events.")
	case len(raws) > maxEventsPerRequest:
		return nil, false, apperr.Errorf(apperr.TooLarge, "The request has %d events; the limit is %d events per request.", len(raws), maxEventsPerRequest)
	}

	path := func(i int, field string) string { return eventPath(batch, i, field) }
	source := "http"
	if sdk := r.Header.Get("X-Inngest-Sdk"); sdk != "" && len(sdk) <= 100 && events.TextProblem(sdk) == "" {
		source = sdk
	}
	seed := r.Header.Get("X-Inngest-Event-Id-Seed")
	evs := make([]events.Event, len(raws))
	var (
		details []apperr.FieldError
		// readable are the events whose name and data could be read, for
		// the catalog's check when the request is already invalid.
		readable []int
	)
	for i, raw := range raws {
		if len(raw) > maxEventBytes {
			where := "The event"
			if batch {
				where = fmt.Sprintf("Event events[%d]", i)
			}
			return nil, false, apperr.Errorf(apperr.TooLarge, "%s is %d bytes; the limit is %s per event.", where, len(raw), byteSize(maxEventBytes))
		}
		// Go would decode invalid UTF-8 and unpaired surrogate escapes as
		// U+FFFD, anywhere in the event: refuse them rather than store an
		// altered name, id or data.
		if msg := events.JSONTextProblem(raw); msg != "" {
			problems := textProblems(raw)
			if len(problems) == 0 { // in a key
				if !batch {
					return nil, false, invalid("The request body " + msg + ".")
				}
				problems = []apperr.FieldError{{Message: msg}}
			}
			for _, p := range problems {
				details = append(details, apperr.FieldError{Field: path(i, p.Field), Message: p.Message})
			}
			continue
		}
		var we wireEvent
		if field, msg := decodeStrict(raw, &we); msg != "" {
			if field == "" && !batch {
				return nil, false, invalid("The request body " + msg + ".")
			}
			details = append(details, apperr.FieldError{Field: path(i, field), Message: msg})
			// An unknown key leaves the event readable; a wrong type does not.
			we = wireEvent{}
			if json.Unmarshal(raw, &we) != nil {
				continue
			}
		}
		ev := events.Event{ID: we.ID, Name: we.Name, Data: we.Data, Source: source}
		ts, msg := parseTS(we.TS)
		if msg != "" {
			details = append(details, apperr.FieldError{Field: path(i, "ts"), Message: msg})
		}
		ev.TS = ts
		// user and v are not stored, but are held to what the rest is.
		if msg := events.TextProblem(we.V); msg != "" {
			details = append(details, apperr.FieldError{Field: path(i, "v"), Message: msg})
		}
		details = append(details, unstorableStrings(path(i, "user"), we.User)...)
		if len(ev.ID) > maxEventIDLength {
			details = append(details, apperr.FieldError{Field: path(i, "id"), Message: fmt.Sprintf("must be at most %d characters", maxEventIDLength)})
		} else if msg := events.TextProblem(ev.ID); msg != "" {
			details = append(details, apperr.FieldError{Field: path(i, "id"), Message: msg})
		}
		if ev.ID == "" {
			ev.ID = seededID(seed, i)
		}
		evs[i] = ev
		readable = append(readable, i)
	}
	if len(details) > 0 {
		return nil, false, invalidEvents(batch, append(details, catalogDetailsOf(batch, evs, readable)...))
	}
	return evs, batch, nil
}

// textProblems names the values of the event object raw that hold invalid
// UTF-8 or an unpaired surrogate escape, by key, in key order. It returns
// none when raw is not an object, or when the problem is in a key.
func textProblems(raw json.RawMessage) []apperr.FieldError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil
	}
	var problems []apperr.FieldError
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		if msg := events.JSONTextProblem(fields[key]); msg != "" {
			problems = append(problems, apperr.FieldError{Field: key, Message: msg})
		}
	}
	return problems
}

// catalogDetailsOf runs the catalog's validation on the events of evs at
// the given indexes and names their failures by their index in evs.
func catalogDetailsOf(batch bool, evs []events.Event, indexes []int) []apperr.FieldError {
	some := make([]events.Event, len(indexes))
	for j, i := range indexes {
		some[j] = evs[i]
	}
	var verr *events.ValidationError
	if !errors.As(events.ValidateAll(some), &verr) {
		return nil
	}
	details := make([]apperr.FieldError, len(verr.Fields))
	for j, f := range verr.Fields {
		details[j] = apperr.FieldError{Field: eventPath(batch, indexes[f.Index], f.Field), Message: f.Message}
	}
	return details
}

// eventPath names a field of the i'th event of a request: "events[1].data.email"
// in an array, "data.email" for a single event.
func eventPath(batch bool, i int, field string) string {
	switch {
	case !batch:
		return field
	case field == "":
		return fmt.Sprintf("events[%d]", i)
	default:
		return fmt.Sprintf("events[%d].%s", i, field)
	}
}

// catalogDetails turns the catalog's validation failures into details.
func catalogDetails(batch bool, verr *events.ValidationError) []apperr.FieldError {
	details := make([]apperr.FieldError, len(verr.Fields))
	for i, f := range verr.Fields {
		details[i] = apperr.FieldError{Field: eventPath(batch, f.Index, f.Field), Message: f.Message}
	}
	return details
}

// refusedEvents is the answer for events the catalog's validation refused;
// nothing was stored. It is 422 when each failure is an id that is not a
// UUID: such an event is well formed, but names nothing this service can
// hold, like one naming a row not stored here (checkRefs). Otherwise 400.
func refusedEvents(batch bool, verr *events.ValidationError) error {
	details := catalogDetails(batch, verr)
	if slices.ContainsFunc(verr.Fields, func(f events.FieldError) bool { return !f.NotUUID }) {
		return invalidEvents(batch, details)
	}
	return unprocessableEvents(batch, details)
}

// unprocessableEvents is the 422 answer for events that name what this
// service does not hold: nothing was stored.
func unprocessableEvents(batch bool, details []apperr.FieldError) error {
	msg := "The event names something this service does not hold; nothing was stored."
	if batch {
		msg = "One or more events name things this service does not hold; nothing was stored."
	}
	return &apperr.Error{Code: apperr.Unprocessable, Message: msg, Details: details}
}

// takenIDs is the 409 answer for events whose id is stored with another
// name or other data (see outbox.Publish): nothing was stored.
func takenIDs(batch bool, conflict *outbox.IDConflictError) error {
	details := make([]apperr.FieldError, len(conflict.Indexes))
	for j, i := range conflict.Indexes {
		details[j] = apperr.FieldError{Field: eventPath(batch, i, "id"), Message: "is already taken by an event with another name or other data"}
	}
	msg := "The event's id is already taken by another event; nothing was stored. Send a new id, or the same event again."
	if batch {
		msg = "One or more event ids are already taken by other events; nothing was stored. Send new ids, or the same events again."
	}
	return &apperr.Error{Code: apperr.Conflict, Message: msg, Details: details, Err: conflict}
}

// invalidEvents is the 400 answer for invalid events: nothing was stored.
func invalidEvents(batch bool, details []apperr.FieldError) error {
	if batch {
		return invalid("One or more events are invalid; nothing was stored.", details...)
	}
	return invalid("The event is invalid; nothing was stored.", details...)
}

// parseTS reads an event's ts: epoch milliseconds or RFC 3339, in the
// years 2000 to 9999 (events.TSProblem). Absent, null or 0 is the zero
// time (the publisher's now). A ts it refuses is returned as the zero time
// with the failure message, so it is reported once.
func parseTS(raw json.RawMessage) (time.Time, string) {
	const msgFormat = "must be epoch milliseconds or an RFC 3339 time"
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, ""
	}
	var t time.Time
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, msgFormat
		}
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, msgFormat
		}
	} else {
		ms, err := strconv.ParseInt(string(raw), 10, 64)
		switch {
		case err != nil || ms < 0:
			return time.Time{}, msgFormat
		case ms == 0:
			return time.Time{}, ""
		}
		t = time.UnixMilli(ms).UTC()
	}
	// Also "0001-01-01T00:00:00Z", which is not "now" but a time sent.
	if msg := events.TSProblem(t); msg != "" {
		return time.Time{}, msg
	}
	return t, ""
}

// seededID derives the id of the index'th event from Inngest's
// X-Inngest-Event-Id-Seed header ("millis,base64 of 10 random bytes"), as
// Inngest does: the SDK retries a failed send with the same seed, so a
// retried event gets the same id and is stored once. Without a valid seed
// it returns "" and the outbox generates an id.
func seededID(seed string, index int) string {
	millisText, entropyText, ok := strings.Cut(seed, ",")
	if !ok {
		return ""
	}
	millis, err := strconv.ParseInt(millisText, 10, 64)
	if err != nil || millis <= 0 {
		return ""
	}
	entropy, err := base64.StdEncoding.DecodeString(entropyText)
	if err != nil || len(entropy) != 10 {
		return ""
	}
	binary.BigEndian.PutUint32(entropy[6:], binary.BigEndian.Uint32(entropy[6:])+uint32(index)) //nolint:gosec // index < 1000
	id, err := ulid.New(uint64(millis), bytes.NewReader(entropy))
	if err != nil {
		return ""
	}
	return id.String()
}

// routed reports whether events called name start a function.
func (s *server) routed(name string) bool {
	if s.Routes == nil {
		return events.Known(name)
	}
	return s.Routes.Routed(name)
}

// logUnrouted logs the accepted events whose names start no function: they
// are stored but trigger nothing, which is most often a misspelt name. One
// line per name and request.
func (s *server) logUnrouted(ctx context.Context, evs []events.Event) {
	counts := make(map[string]int)
	for _, ev := range evs {
		if !s.routed(ev.Name) {
			counts[ev.Name]++
		}
	}
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		s.Logger.WarnContext(ctx, "Event name starts no function: the event is stored and triggers nothing",
			slog.String("name", name), slog.Int("events", counts[name]))
	}
}

// reservedPrefix starts the names of the functions' own events
// (fn.InvokedEvent, fn.FinishedEvent), which only Invoke publishes: sent
// over HTTP they would start any function with any data, or end another
// run's wait.
const reservedPrefix = "inngest/"

// reservedNames refuses events whose names are reserved, naming them.
func reservedNames(evs []events.Event, batch bool) error {
	var bad []apperr.FieldError
	for i, ev := range evs {
		if strings.HasPrefix(ev.Name, reservedPrefix) {
			bad = append(bad, apperr.FieldError{Field: eventPath(batch, i, "name"),
				Message: fmt.Sprintf("names starting %q are reserved for the functions' own events", reservedPrefix)})
		}
	}
	if len(bad) > 0 {
		return invalidEvents(batch, bad)
	}
	return nil
}

// eventAnswer is GET /v1/events/{id}: the event, the jobs it triggered and
// the messages (deliveries) those jobs sent or captured.
type eventAnswer struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Data       json.RawMessage `json:"data"`
	TS         time.Time       `json:"ts"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Source     string          `json:"source"`
	Jobs       []eventJob      `json:"jobs"`
	Deliveries []eventDelivery `json:"deliveries"`
}

// eventDelivery is one email, SMS or push an event caused.
type eventDelivery struct {
	ID        int64     `json:"id"`
	Channel   string    `json:"channel"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Provider  string    `json:"provider"`
	CreatedAt time.Time `json:"createdAt"`
}

type eventJob struct {
	ID          int64             `json:"id"`
	Kind        string            `json:"kind"`
	Queue       string            `json:"queue"`
	State       string            `json:"state"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"maxAttempts"`
	Errors      []json.RawMessage `json:"errors"`
	CreatedAt   time.Time         `json:"createdAt"`
	FinalizedAt *time.Time        `json:"finalizedAt"`
}

// getEvent serves GET /v1/events/{id}.
func (s *server) getEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := db.New(s.DB)
	// An id PostgreSQL cannot store (a NUL, invalid UTF-8) names no event;
	// asking for it would fail the query.
	var ev *db.Event
	err := pgx.ErrNoRows
	if events.TextProblem(id) == "" {
		ev, err = q.EventGet(r.Context(), id)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		s.writeError(w, r, apperr.Errorf(apperr.NotFound, "Event %s was not found.", id))
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("load event: %w", err))
		return
	}
	rows, err := q.EventJobList(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("load event jobs: %w", err))
		return
	}
	sent, err := q.DeliveryListByEvent(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("load event deliveries: %w", err))
		return
	}
	out := eventAnswer{ID: ev.ID, Name: ev.Name, Data: ev.Data, TS: ev.Ts, ReceivedAt: ev.ReceivedAt, Source: ev.Source,
		Jobs: make([]eventJob, len(rows)), Deliveries: make([]eventDelivery, len(sent))}
	for i, d := range sent {
		out.Deliveries[i] = eventDelivery{ID: d.ID, Channel: d.Channel, Recipient: d.Recipient, Subject: d.Subject,
			Status: d.Status, Provider: d.Provider, CreatedAt: d.CreatedAt}
	}
	for i, j := range rows {
		out.Jobs[i] = eventJob{
			ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Attempt: int(j.Attempt),
			MaxAttempts: int(j.MaxAttempts), Errors: redactAttemptErrors(j.Errors), CreatedAt: j.CreatedAt, FinalizedAt: j.FinalizedAt,
		}
	}
	writeJSON(w, http.StatusOK, out)
}
