package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/mohallamart/backend/internal/redact"
)

// redactAttemptErrors returns a job's attempt errors (River's
// {at, attempt, error, trace} objects) with every email address and phone
// number in their text redacted. The workers already redact the errors
// they return; this also covers rows written before they did, and errors
// River itself wrote (panics).
func redactAttemptErrors(errs []json.RawMessage) []json.RawMessage {
	out := make([]json.RawMessage, len(errs))
	for i, raw := range errs {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			v = string(raw) // not JSON: shown as a redacted string
		}
		out[i], _ = json.Marshal(redactJSON(v)) // a decoded JSON value always encodes
	}
	return out
}

// redactJSON redacts every string in a decoded JSON value.
func redactJSON(v any) any {
	switch v := v.(type) {
	case string:
		return redact.String(v)
	case []any:
		for i := range v {
			v[i] = redactJSON(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = redactJSON(v[k])
		}
	}
	return v
}
