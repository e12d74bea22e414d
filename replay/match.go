package replay

import (
	"strings"

	"github.com/mohallamart/backend/apperr"
)

// Match selects runs by a field of their trigger event's data: "data.orderId=X"
// keeps the runs whose event has X at data.orderId (compared as text, so
// data.count=5 matches the number 5). Runs without a trigger event of their
// own (a debounce's, a batch's, a cron trigger's) never match.
type Match struct {
	// Path is the field's path under data ("orderId", "address.city").
	Path []string
	// Value is the text the field must have.
	Value string
}

// ParseMatch reads "data.PATH=VALUE" (the field is named for errors, such as
// "match"). An empty s is no match (the zero Match).
func ParseMatch(field, s string) (Match, error) {
	if s == "" {
		return Match{}, nil
	}
	path, value, ok := strings.Cut(s, "=")
	rest, data := strings.CutPrefix(strings.TrimSpace(path), "data.")
	if !ok || !data || rest == "" {
		return Match{}, invalid(field, "must be data.FIELD=VALUE, such as data.orderId=ord_123")
	}
	parts := strings.Split(rest, ".")
	for _, p := range parts {
		if p == "" {
			return Match{}, invalid(field, "must be data.FIELD=VALUE, such as data.orderId=ord_123 (a path without empty parts)")
		}
	}
	return Match{Path: parts, Value: value}, nil
}

// PathOrEmpty is m's path for the queries' match_path: an empty array
// (never nil) when m matches every run.
func (m Match) PathOrEmpty() []string {
	if m.Path == nil {
		return []string{}
	}
	return m.Path
}

// invalid is the error of a request whose field is wrong: a 400 naming it.
func invalid(field, msg string) error {
	return &apperr.Error{
		Code: apperr.Invalid, Message: "The request is invalid: " + field + " " + msg + ".",
		Details: []apperr.FieldError{{Field: field, Message: msg}},
	}
}
