package redact

import "encoding/json"

// Hidden replaces the value of a field that is not on the allow-list in
// JSON shown to operators (JSON).
const Hidden = "[hidden]"

// Allowed is the allow-list of the fields that may leave the code that
// needed them when personal data must not: what analytics receives of
// each catalog event (Properties), and what the operator's console shows
// of a step's output (JSON). Ids, amounts, counts, statuses and the names
// of fields — never an email address, name, phone number, address or a
// message's text. It is the one list: add a field here and both see it.
func Allowed(field string) bool {
	switch field {
	case "id", "orderId", "userId", "shopId", "productId", "eventId", "jobId",
		"type", "status", "kind", "channel", "provider", "providerMessageId",
		"totalPaise", "pricePaise", "subtotalPaise", "amountPaise", "lineCount", "itemCount", "quantity", "stock",
		"hasPhone", "changedFields", "reason", "alreadyRecorded", "until", "ts", "event", "items", "attempt":
		return true
	}
	return false
}

// Properties returns the properties that are on the allow-list (Allowed),
// with the strings among their values redacted (String): what analytics
// may receive. Fields not on the list are left out.
func Properties(props map[string]any) map[string]any {
	out := make(map[string]any, len(props))
	for k, v := range props {
		if Allowed(k) {
			out[k] = value(v)
		}
	}
	return out
}

// JSON returns raw with the value of every object field, at any depth,
// that is not on the allow-list replaced by [Hidden] (the field's name is
// kept, so an operator sees what there was), and every string redacted
// (String). Arrays and top-level values other than objects are kept, their
// strings redacted. Invalid JSON is returned as a JSON string saying so.
func JSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return json.RawMessage(`"[invalid JSON]"`)
	}
	out, err := json.Marshal(hide(v))
	if err != nil {
		return json.RawMessage(`"[invalid JSON]"`)
	}
	return out
}

// hide is JSON's walk of a decoded value.
func hide(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if Allowed(k) {
				out[k] = hide(x)
			} else {
				out[k] = Hidden
			}
		}
		return out
	default:
		return value(v)
	}
}

// value redacts the strings of a property's value (a string, a slice or a
// map of them, at any depth); objects inside it are filtered as JSON does.
func value(v any) any {
	switch v := v.(type) {
	case string:
		return String(v)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = String(s)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = hide(x)
		}
		return out
	case map[string]any:
		return hide(v)
	}
	return v
}
