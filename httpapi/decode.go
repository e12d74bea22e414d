package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
)

// maxRESTBodyBytes bounds the body of a REST request (an order of 100
// items is about 10 KiB).
const maxRESTBodyBytes = 64 << 10

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data. On failure it returns the offending field's path ("" for
// the whole value) and a lowercase message.
func decodeStrict(raw []byte, v any) (field, msg string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return "", "has data after the JSON value"
		}
		return "", ""
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "", "must be a JSON object"
		}
		return jsonPath(typeErr.Field), "must be " + article(typeErr.Type.String())
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(name, `"`), "unknown field"
	}
	return "", "is not valid JSON: " + jsonMessage(err)
}

// jsonPath turns encoding/json's "items.0.quantity" into "items[0].quantity".
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	var b strings.Builder
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// article names a Go type the way a client thinks of it.
func article(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string" || goType == "*string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	if strings.HasPrefix(goType, "*int") {
		return "an integer"
	}
	return "an object"
}

// jsonMessage is err's message without encoding/json's "json: " prefix.
func jsonMessage(err error) string {
	if err == nil {
		return "unknown error"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// decodeBody reads a REST request's JSON body into v: at most
// maxRESTBodyBytes, one object, no unknown fields, no string holding the NUL
// character (which PostgreSQL refuses in text), no invalid UTF-8 or unpaired
// surrogate escape (which Go would replace). An empty body is accepted
// when optional.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRESTBodyBytes))
	if maxErr, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return apperr.Errorf(apperr.TooLarge, "The request body is larger than the limit of %s.", byteSize(maxErr.Limit))
	}
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0 && optional:
		return nil
	case len(body) == 0:
		return invalid("The request body is empty; send a JSON object.")
	case body[0] != '{':
		return invalid("The request body must be a JSON object.")
	}
	field, msg := decodeStrict(body, v)
	switch {
	case msg == "":
		// Go decodes invalid UTF-8 and unpaired surrogate escapes as
		// U+FFFD: refuse them rather than store an altered string.
		if p := events.JSONTextProblem(body); p != "" {
			return invalid("The request body " + p + ".")
		}
	}
	switch {
	case msg == "" && bytes.Contains(body, []byte(`\u0000`)):
		if details := unstorableStrings(body); len(details) > 0 {
			return invalid("The request is invalid.", details...)
		}
		return nil
	case msg == "":
		return nil
	case field == "":
		return invalid("The request body " + msg + ".")
	}
	return invalid("The request is invalid.", apperr.FieldError{Field: field, Message: msg})
}

// unstorableStrings names the strings of the valid JSON body that
// PostgreSQL cannot store as text (a NUL character), such as
// "items[0].productId", in path order. Keys need no check: decodeStrict
// rejects them as unknown fields.
func unstorableStrings(body []byte) []apperr.FieldError {
	var root any
	if json.Unmarshal(body, &root) != nil {
		return nil
	}
	var details []apperr.FieldError
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case string:
			if msg := events.TextProblem(v); msg != "" {
				details = append(details, apperr.FieldError{Field: path, Message: msg})
			}
		case []any:
			for i, elem := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), elem)
			}
		case map[string]any:
			for _, key := range slices.Sorted(maps.Keys(v)) {
				sub := key
				if path != "" {
					sub = path + "." + key
				}
				walk(sub, v[key])
			}
		}
	}
	walk("", root)
	return details
}
