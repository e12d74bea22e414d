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

// msgNULKey is the failure of an object with a key holding the NUL
// character, which PostgreSQL cannot store.
const msgNULKey = `must not have a key containing the NUL character (\u0000)`

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

// readBody reads r's body, at most limit bytes, without its surrounding
// white space. A longer body is apperr.TooLarge. A body that cannot be read
// in full (cut short before its Content-Length, or with a malformed chunked
// encoding) is apperr.Invalid: the client sent it wrong. Its cause, such as
// io.ErrUnexpectedEOF, must not reach writeError bare, which would take it
// for a lost database connection.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, apperr.Errorf(apperr.TooLarge, "The request body is larger than the limit of %s per request.", byteSize(limit))
	}
	if err != nil {
		return nil, &apperr.Error{
			Code:    apperr.Invalid,
			Message: "The request body could not be read in full: it ended early or its chunked encoding is malformed.",
			Err:     fmt.Errorf("read body: %w", err),
		}
	}
	return bytes.TrimSpace(body), nil
}

// decodeBody reads a REST request's JSON body into v: at most
// maxRESTBodyBytes, one object, no unknown fields, no string holding the NUL
// character (which PostgreSQL refuses in text), no invalid UTF-8 or unpaired
// surrogate escape (which Go would replace). An empty body is accepted
// when optional.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := readBody(w, r, maxRESTBodyBytes)
	if err != nil {
		return err
	}
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
		if details := unstorableStrings("", body); len(details) > 0 {
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

// unstorableStrings names the strings of the valid JSON text raw that
// PostgreSQL cannot store as text (a NUL character), such as
// "items[0].productId", in path order; root is the path of raw itself ("",
// or "user" for an event's user object). An object with a key holding a
// NUL is named too. (A REST body's keys are all known fields: decodeStrict
// refuses any other.)
func unstorableStrings(root string, raw []byte) []apperr.FieldError {
	var val any
	if json.Unmarshal(raw, &val) != nil {
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
				if strings.IndexByte(key, 0) >= 0 {
					details = append(details, apperr.FieldError{Field: path, Message: msgNULKey})
					continue
				}
				sub := key
				if path != "" {
					sub = path + "." + key
				}
				walk(sub, v[key])
			}
		}
	}
	walk(root, val)
	return details
}
