package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxNameLength is the longest event name accepted, in characters.
const maxNameLength = 256

// The years an event's ts may fall in (UTC).
const (
	minYear = 2000
	maxYear = 9999
)

// TSProblem says why t cannot be a new event's ts, "must be a time in the
// years 2000 to 9999 (...)", or returns "" when it can. Beyond that range
// PostgreSQL refuses the time or, past the year 294276, pgx stores it
// wrapped around. (An Event's zero TS means "now", and is not checked.)
func TSProblem(t time.Time) string {
	if y := t.UTC().Year(); y < minYear || y > maxYear {
		return "must be a time in the years 2000 to 9999 (epoch milliseconds 946684800000 to 253402300799999)"
	}
	return ""
}

// Validate checks a new event: its name, its ts (zero, or a time in the
// years 2000 to 9999), and for a catalog event its data against the
// catalog's field table; for a custom event only that the data is a JSON
// object (or absent). Data properties the catalog does not list are
// accepted (and ignored by [Decode]), unless they differ from a listed one
// only in letter case. An id that the event's jobs look a row up by (a
// user's, shop's, product's or order's, as the catalog marks it) must be a
// UUID ([CanonicalUUID]); its failure has NotUUID set. Every name and data must also be storable by PostgreSQL: no
// NUL character, valid UTF-8, no unpaired surrogate escape, numbers within
// its numeric type. It returns a [*ValidationError] listing every failing
// field, or nil.
func Validate(ev Event) error {
	return ValidateAll([]Event{ev})
}

// ValidateAll checks a batch of events like [Validate] and reports all
// failures of all events in one [*ValidationError], each with its event's
// Index; Batch is set when len(evs) > 1. It returns nil when every event is
// valid, including for an empty batch.
func ValidateAll(evs []Event) error {
	return validateAll(evs, true)
}

// validateAll checks a batch like [ValidateAll]. Unless fresh, it leaves
// out the rules only new events are held to, ts's range and ids as UUIDs,
// so that an event stored before they existed still decodes.
func validateAll(evs []Event, fresh bool) error {
	specs := catalogByName()
	v := validator{fresh: fresh}
	for i, ev := range evs {
		v.index = i
		v.event(ev, specs)
	}
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.errs, Batch: len(evs) > 1}
}

// validator collects the failures of a batch.
type validator struct {
	index int
	fresh bool
	errs  []FieldError
}

func (v *validator) fail(path, message string) {
	v.errs = append(v.errs, FieldError{Index: v.index, Field: path, Message: message})
}

func (v *validator) event(ev Event, specs map[string]eventSpec) {
	switch {
	case ev.Name == "":
		v.fail("name", "is required")
	case utf8.RuneCountInString(ev.Name) > maxNameLength:
		v.fail("name", fmt.Sprintf("must be at most %d characters", maxNameLength))
	default:
		if msg := TextProblem(ev.Name); msg != "" {
			v.fail("name", msg)
		}
	}
	if v.fresh && !ev.TS.IsZero() {
		if msg := TSProblem(ev.TS); msg != "" {
			v.fail("ts", msg)
		}
	}

	data, err := parseData(ev.Data)
	if err != nil {
		v.fail("data", "must be valid JSON")
		return
	}
	obj, ok := data.(map[string]any)
	if !ok {
		v.fail("data", "must be an object")
		return
	}
	if msg := JSONTextProblem(ev.Data); msg != "" {
		v.fail("data", msg)
	}

	if spec, ok := specs[ev.Name]; ok {
		v.object("data", spec.data, obj)
		return
	}
	if !storable(obj) {
		v.free("data", obj)
	}
}

// parseData decodes raw into a generic JSON value, keeping numbers as
// json.Number so integers can be told from fractions. Absent or null data
// decodes as an empty object.
func parseData(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}

	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data any
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("error decoding event data: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("error decoding event data: unexpected data after the JSON value")
	}

	if data == nil {
		return map[string]any{}, nil
	}
	return data, nil
}

// object checks obj against spec's fields. Keys the spec does not know are
// accepted and only checked for what PostgreSQL cannot store, except a key
// that differs from a known one only in letter case: encoding/json would
// decode it into the known field, so it is reported.
func (v *validator) object(path string, spec field, obj map[string]any) {
	for _, f := range spec.fields {
		p := path + "." + f.key
		val, present := obj[f.key]
		if !present || val == nil {
			switch {
			case f.required:
				v.fail(p, "is required")
			case f.orKey != "" && !has(obj, f.orKey):
				v.fail(p, "is required (or "+path+"."+f.orKey+")")
			}
			continue
		}
		if f.phoneWhen != nil {
			if s, _ := obj[f.phoneWhen.key].(string); s == f.phoneWhen.value {
				f.phone = true
			}
		}
		v.value(p, f, val)
	}

	if len(obj) == 0 {
		return
	}
	start := len(v.errs)
	for key, val := range obj {
		i := slices.IndexFunc(spec.fields, func(f field) bool { return strings.EqualFold(f.key, key) })
		switch {
		case i >= 0 && spec.fields[i].key == key:
			continue
		case i >= 0:
			v.fail(path+"."+key, "differs from "+spec.fields[i].key+" only in letter case; names are case-sensitive")
		case strings.IndexByte(key, 0) >= 0:
			v.fail(path, msgNULKey)
		case !storable(val):
			v.free(path+"."+key, val)
		}
	}
	// Map order is random: report these failures in path order.
	slices.SortStableFunc(v.errs[start:], func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
}

// storable reports whether PostgreSQL's jsonb can store val, a value the
// catalog does not describe (an unknown property, free-form properties, a
// custom event's data): no NUL character in a string or key, and numbers
// within PostgreSQL's numeric type. It builds no paths: [validator.free]
// walks again to name the failures.
func storable(val any) bool {
	switch val := val.(type) {
	case string:
		return strings.IndexByte(val, 0) < 0
	case json.Number:
		return numericFits(val.String())
	case []any:
		for _, elem := range val {
			if !storable(elem) {
				return false
			}
		}
	case map[string]any:
		for key, elem := range val {
			if strings.IndexByte(key, 0) >= 0 || !storable(elem) {
				return false
			}
		}
	}
	return true
}

// free reports, at their paths, what makes val unstorable (see storable).
func (v *validator) free(path string, val any) {
	switch val := val.(type) {
	case string:
		if strings.IndexByte(val, 0) >= 0 {
			v.fail(path, msgNUL)
		}
	case json.Number:
		if !numericFits(val.String()) {
			v.fail(path, "is out of range")
		}
	case []any:
		for i, elem := range val {
			v.free(fmt.Sprintf("%s[%d]", path, i), elem)
		}
	case map[string]any:
		start := len(v.errs)
		for key, elem := range val {
			if strings.IndexByte(key, 0) >= 0 {
				v.fail(path, msgNULKey)
				continue
			}
			v.free(path+"."+key, elem)
		}
		slices.SortStableFunc(v.errs[start:], func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	}
}

// has reports whether obj has key with a non-null value.
func has(obj map[string]any, key string) bool {
	val, ok := obj[key]
	return ok && val != nil
}

// value checks one present, non-null value against f. Each value gets at
// most one failure: the first check it fails.
func (v *validator) value(path string, f field, val any) {
	switch f.typ {
	case typeString:
		v.string(path, f, val)
	case typeInteger:
		v.integer(path, f, val)
	case typeObject:
		obj, ok := val.(map[string]any)
		if !ok {
			v.fail(path, "must be an object")
			return
		}
		v.object(path, f, obj)
	case typeArray:
		arr, ok := val.([]any)
		if !ok {
			v.fail(path, "must be an array")
			return
		}
		if f.nonEmpty && len(arr) == 0 {
			v.fail(path, "must not be empty")
			return
		}
		if f.items != nil {
			for i, elem := range arr {
				v.value(fmt.Sprintf("%s[%d]", path, i), *f.items, elem)
			}
		}
	}
}

func (v *validator) string(path string, f field, val any) {
	s, ok := val.(string)
	switch {
	case !ok:
		v.fail(path, "must be a string")
	case strings.IndexByte(s, 0) >= 0:
		v.fail(path, msgNUL)
	case f.nonEmpty && s == "":
		v.fail(path, "must not be empty")
	case f.uuid && v.fresh && !isUUID(s):
		v.errs = append(v.errs, FieldError{Index: v.index, Field: path, Message: msgNotUUID, NotUUID: true})
	case len(f.enum) > 0 && !slices.Contains(f.enum, s):
		v.fail(path, "must be one of: "+strings.Join(f.enum, ", "))
	case f.email && !validEmail(s):
		v.fail(path, "must be a valid email address")
	case f.phone && s != "" && !ValidPhone(s):
		v.fail(path, "must be an E.164 phone number, such as +919800000001")
	}
}

func (v *validator) integer(path string, f field, val any) {
	num, ok := val.(json.Number)
	if !ok {
		v.fail(path, "must be an integer")
		return
	}
	n, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			v.fail(path, "is out of range")
		} else {
			v.fail(path, "must be an integer")
		}
		return
	}

	switch {
	case f.min == nil:
	case f.min.exclusive && n <= f.min.value:
		v.fail(path, fmt.Sprintf("must be > %d", f.min.value))
	case !f.min.exclusive && n < f.min.value:
		v.fail(path, fmt.Sprintf("must be >= %d", f.min.value))
	}
	if f.max != nil && n > *f.max {
		v.fail(path, fmt.Sprintf("must be <= %d", *f.max))
	}
}

// phonePattern is the E.164 format as a regular expression (JSON Schema's
// "pattern"): a plus sign, then up to 15 digits, the first not 0.
const phonePattern = `^\+[1-9][0-9]{1,14}$`

// ValidPhone reports whether s is an E.164 phone number, such as
// "+919800000001": a plus sign, then 2 to 15 digits, the first not 0, with
// no spaces or punctuation. Phone numbers in event data and in the REST
// API's user bodies must be in this form.
func ValidPhone(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validEmail reports whether s is a bare email address such as
// "asha@example.com", without a display name or angle brackets.
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Name == "" && addr.Address == s
}
