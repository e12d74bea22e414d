package events

import (
	"bytes"
	"encoding/json"
	"strings"
)

// msgNotUUID is the failure of an id that is not a UUID.
const msgNotUUID = "must be a UUID, such as 0f8fad5b-d9cb-469f-a165-70867728950e"

// CanonicalUUID reports whether s is a UUID in its 36-character text form
// (8-4-4-4-12 hexadecimal digits, in either case) and returns it in lower
// case, the form PostgreSQL prints. The users, shops, products and orders
// this service stores have such ids, accepted in either case and used in
// lower case: in the REST API's paths and bodies, and in the event
// catalog's data where a job looks the row up.
func CanonicalUUID(s string) (string, bool) {
	if !isUUID(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// isUUID reports whether s is a UUID in its 36-character text form, in
// either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// Normalize returns ev with every UUID its catalog data holds (see
// [CanonicalUUID]) in lower case, so that the stored event, the jobs it
// triggers and their uniqueness keys name each row one way. The data is
// rewritten only when such a UUID has an upper-case letter; otherwise, and
// for custom events and data that is not valid JSON text, ev is returned as
// it is. Values that are not UUIDs are left for [Validate] to report.
func Normalize(ev Event) Event {
	spec, ok := lookup(ev.Name)
	if !ok || !hasUpperUUID(ev.Data) || JSONTextProblem(ev.Data) != "" {
		return ev // decoding would replace what Validate must see
	}
	data, err := parseData(ev.Data)
	if err != nil {
		return ev
	}
	if _, changed := lowerUUIDs(spec.data, data); !changed {
		return ev
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(data) != nil {
		return ev
	}
	ev.Data = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return ev
}

// hasUpperUUID reports whether data holds a JSON string that is a UUID
// with an upper-case letter: only then can Normalize change anything, so
// the data of most events is not decoded twice.
func hasUpperUUID(data []byte) bool {
	for i := bytes.IndexByte(data, '"'); i >= 0 && i+37 < len(data); {
		if s := data[i+1 : i+37]; data[i+37] == '"' && bytes.ContainsAny(s, "ABCDEF") && isUUID(string(s)) {
			return true
		}
		next := bytes.IndexByte(data[i+1:], '"')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// lowerUUIDs returns val, a decoded value that f describes, with the UUIDs
// f marks in lower case (objects and arrays are changed in place), and
// reports whether it changed any.
func lowerUUIDs(f field, val any) (any, bool) {
	changed := false
	switch v := val.(type) {
	case string:
		if lower, ok := CanonicalUUID(v); f.uuid && ok && lower != v {
			return lower, true
		}
	case map[string]any:
		for _, sub := range f.fields {
			if elem, ok := v[sub.key]; ok {
				if lowered, c := lowerUUIDs(sub, elem); c {
					v[sub.key], changed = lowered, true
				}
			}
		}
	case []any:
		if f.items == nil {
			break
		}
		for i, elem := range v {
			if lowered, c := lowerUUIDs(*f.items, elem); c {
				v[i], changed = lowered, true
			}
		}
	}
	return val, changed
}
