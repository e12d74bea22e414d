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
	"unicode/utf8"
)

// maxNameLength is the longest event name accepted, in characters.
const maxNameLength = 256

// Validate checks one event: its name, and for a catalog event its data
// against the catalog's field table; for a custom event only that the
// data is a JSON object (or absent). It returns a [*ValidationError]
// listing every failing field, or nil.
func Validate(ev Event) error {
	return ValidateAll([]Event{ev})
}

// ValidateAll checks a batch of events like [Validate] and reports all
// failures of all events in one [*ValidationError], each with its event's
// Index; Batch is set when len(evs) > 1. It returns nil when every event is
// valid, including for an empty batch.
func ValidateAll(evs []Event) error {
	specs := catalogByName()
	var v validator
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

	if spec, ok := specs[ev.Name]; ok {
		v.object("data", spec.data, obj)
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

// object checks obj against spec's fields, then reports keys the spec does
// not know unless the spec is open.
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
		v.value(p, f, val)
	}

	if spec.open {
		return
	}
	var unknown []string
	for key := range obj {
		if !slices.ContainsFunc(spec.fields, func(f field) bool { return f.key == key }) {
			unknown = append(unknown, key)
		}
	}
	slices.Sort(unknown)
	for _, key := range unknown {
		v.fail(path+"."+key, "unknown field")
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
	case f.nonEmpty && s == "":
		v.fail(path, "must not be empty")
	case len(f.enum) > 0 && !slices.Contains(f.enum, s):
		v.fail(path, "must be one of: "+strings.Join(f.enum, ", "))
	case f.email && !validEmail(s):
		v.fail(path, "must be a valid email address")
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
}

// validEmail reports whether s is a bare email address such as
// "asha@example.com", without a display name or angle brackets.
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Name == "" && addr.Address == s
}
