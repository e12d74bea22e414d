package runs

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
)

// Filter selects runs; every field is optional.
type Filter struct {
	// EventID: the runs this event caused.
	EventID string
	// Function: the runs of this function (its declared id).
	Function string
	// Status: the runs with this status (see Statuses).
	Status string
	// Entity: the runs caused by events about this entity, "order:<id>",
	// "user:<id>", "product:<id>" or "shop:<id>".
	Entity string
	// Since: the runs enqueued at or after this time.
	Since time.Time
	// Cursor: the page after the one whose Next this is.
	Cursor string
	// Limit is the page's size: DefaultLimit when 0, at most MaxLimit.
	Limit int

	before int64 // the cursor's run id
}

func (f Filter) limit() int {
	if f.Limit <= 0 {
		return DefaultLimit
	}
	return min(f.Limit, MaxLimit)
}

// ParseFilter reads a Filter from the query of GET /admin/runs:
// event_id, function, status, entity, since (RFC 3339), cursor and limit.
// A value it cannot take is an Invalid error naming each such field.
func (s *Service) ParseFilter(q url.Values) (Filter, error) {
	f := Filter{
		EventID: strings.TrimSpace(q.Get("event_id")), Function: strings.TrimSpace(q.Get("function")),
		Status: strings.TrimSpace(q.Get("status")), Entity: strings.TrimSpace(q.Get("entity")),
		Cursor: strings.TrimSpace(q.Get("cursor")),
	}
	var bad []apperr.FieldError
	if f.Function != "" && s.byID[f.Function] == nil {
		bad = append(bad, apperr.FieldError{Field: "function", Message: "must be the id of a declared function, such as send-order-confirmation"})
	}
	if f.Status != "" && !slices.Contains(Statuses(), f.Status) {
		bad = append(bad, apperr.FieldError{Field: "status", Message: "must be one of: " + strings.Join(Statuses(), ", ")})
	}
	if f.Entity != "" {
		if _, err := ParseEntity(f.Entity); err != nil {
			bad = append(bad, entityError())
		}
	}
	if v := strings.TrimSpace(q.Get("since")); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad = append(bad, apperr.FieldError{Field: "since", Message: "must be an RFC 3339 time, such as 2026-11-30T18:00:00Z"})
		}
		f.Since = t
	}
	if f.Cursor != "" {
		id, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || id <= 0 {
			bad = append(bad, apperr.FieldError{Field: "cursor", Message: "must be the next of an earlier answer"})
		}
		f.before = id
	}
	if v := strings.TrimSpace(q.Get("limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			bad = append(bad, apperr.FieldError{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(MaxLimit)})
		}
		f.Limit = n
	}
	if len(bad) > 0 {
		return Filter{}, &apperr.Error{Code: apperr.Invalid, Message: "The run filter is invalid.", Details: bad}
	}
	return f, nil
}

// Entity is a business row events are about.
type Entity struct {
	// Kind is order, user, product or shop.
	Kind string
	// ID is the row's id (a UUID, lower case).
	ID string
}

// entityError is the field error of an entity that is not of the form.
func entityError() apperr.FieldError {
	return apperr.FieldError{Field: "entity", Message: "must be order:<id>, user:<id>, product:<id> or shop:<id>, with a UUID id"}
}

// ParseEntity reads "order:<id>", "user:<id>", "product:<id>" or
// "shop:<id>"; anything else is an Invalid error naming the field
// "entity".
func ParseEntity(s string) (Entity, error) {
	kind, id, _ := strings.Cut(strings.TrimSpace(s), ":")
	id, ok := events.CanonicalUUID(id)
	switch {
	case !ok:
	case kind == "order", kind == "user", kind == "product", kind == "shop":
		return Entity{Kind: kind, ID: id}, nil
	}
	return Entity{}, &apperr.Error{Code: apperr.Invalid, Message: "The entity is invalid.", Details: []apperr.FieldError{entityError()}}
}

// field is the field of an event's data that names e: orderId, userId,
// productId or shopId.
func (e Entity) field() string { return e.Kind + "Id" }

// indexType is search/index's type of e ("" for orders and users, which
// are not indexed).
func (e Entity) indexType() string {
	if e.Kind == "product" || e.Kind == "shop" {
		return e.Kind
	}
	return ""
}
