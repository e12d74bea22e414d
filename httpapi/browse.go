package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Page sizes of GET /v1/events.
const (
	defaultEventPage = 50
	maxEventPage     = 500
)

// eventListItem is one event of GET /v1/events.
type eventListItem struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Data       json.RawMessage `json:"data"`
	TS         time.Time       `json:"ts"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Source     string          `json:"source"`
}

// eventList is GET /v1/events: a page of events, newest first, and the
// cursor of the next page (null on the last one).
type eventList struct {
	Events     []eventListItem `json:"events"`
	NextCursor *string         `json:"nextCursor"`
}

// eventCursor is the position after which a page starts: the received_at
// and id of the previous page's last event. On the wire it is opaque:
// base64url of its JSON.
type eventCursor struct {
	ReceivedAt time.Time `json:"r"`
	ID         string    `json:"i"`
}

func (c eventCursor) encode() string {
	b, _ := json.Marshal(c) // a time and a string always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(v string) (eventCursor, bool) {
	var c eventCursor
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" || c.ReceivedAt.IsZero() || events.TextProblem(c.ID) != "" {
		return eventCursor{}, false
	}
	return c, true
}

// eventListParams reads GET /v1/events's query, naming every bad parameter.
func eventListParams(r *http.Request) (db.EventListParams, error) {
	q := r.URL.Query()
	p := db.EventListParams{MaxRows: defaultEventPage + 1}
	var details []apperr.FieldError
	bad := func(field, msg string) { details = append(details, apperr.FieldError{Field: field, Message: msg}) }
	known := map[string]bool{"name": true, "since": true, "until": true, "jobState": true, "limit": true, "cursor": true}
	for _, key := range slices.Sorted(maps.Keys(q)) {
		if !known[key] {
			bad(key, "is not a parameter of this route (name, since, until, jobState, limit, cursor)")
		}
	}
	if v := q.Get("name"); v != "" {
		if problem := events.TextProblem(v); problem != "" {
			bad("name", problem)
		} else {
			p.Name = &v
		}
	}
	timeParam := func(key string) *time.Time {
		v := q.Get(key)
		if v == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(key, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			return nil
		}
		return &t
	}
	p.Since, p.Until = timeParam("since"), timeParam("until")
	if v := q.Get("jobState"); v != "" {
		switch v {
		case "available", "running", "completed", "retryable", "scheduled", "cancelled", "discarded":
			p.JobState = &v
		default:
			bad("jobState", "must be one of available, running, completed, retryable, scheduled, cancelled, discarded")
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventPage {
			bad("limit", fmt.Sprintf("must be a whole number from 1 to %d", maxEventPage))
		} else {
			p.MaxRows = int32(n) + 1 //nolint:gosec // at most maxEventPage
		}
	}
	if v := q.Get("cursor"); v != "" {
		c, ok := decodeCursor(v)
		if !ok {
			bad("cursor", "is not a cursor this API returned (use nextCursor of the previous page)")
		} else {
			p.AfterReceivedAt, p.AfterID = &c.ReceivedAt, &c.ID
		}
	}
	if len(details) > 0 {
		return p, invalid("The query has invalid parameters.", details...)
	}
	return p, nil
}

// listEvents serves GET /v1/events: the event log, newest first (by
// received_at, then id), filtered by name, received_at range [since,
// until) and job state, one page of limit events at a time. The cursor
// is a position in that order, so events received after the first page
// was read do not shift the later pages.
func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	p, err := eventListParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, err := db.New(s.DB).EventList(r.Context(), p)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list events: %w", err))
		return
	}
	out := eventList{Events: make([]eventListItem, 0, len(rows))}
	if limit := int(p.MaxRows) - 1; len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next := eventCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}.encode()
		out.NextCursor = &next
	}
	for _, e := range rows {
		out.Events = append(out.Events, eventListItem{ID: e.ID, Name: e.Name, Data: e.Data, TS: e.Ts, ReceivedAt: e.ReceivedAt, Source: e.Source})
	}
	writeJSON(w, http.StatusOK, out)
}
