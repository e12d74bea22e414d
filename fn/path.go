package fn

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mohallamart/backend/events"
)

// splitPath returns the keys of a field path into an event's data:
// "data.address.city" (or Inngest's "event.data.address.city") is
// ["address", "city"].
func splitPath(path string) ([]string, error) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(path, "event."), "data.")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%q is not a field path into the event's data (data.<field>)", path)
	}
	keys := strings.Split(rest, ".")
	for _, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("%q has an empty key", path)
		}
	}
	return keys, nil
}

// checkPath reports an error when the catalog event called name (any
// custom event passes) has no field at path.
func checkPath(name, path string) error {
	keys, err := splitPath(path)
	if err != nil {
		return err
	}
	if name != "" && !events.HasField(name, keys) {
		return fmt.Errorf("%s has no field %s", name, path)
	}
	return nil
}

// Field returns the value at path in ev's data as text: a string as it is,
// a number or boolean as its JSON text, an object or array as its JSON; ""
// when the field is missing or null.
func Field(ev events.Event, path string) string {
	keys, err := splitPath(path)
	if err != nil {
		return ""
	}
	return fieldOf(ev.Data, keys)
}

func fieldOf(data json.RawMessage, keys []string) string {
	raw := data
	for _, k := range keys {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return ""
		}
		if raw = obj[k]; raw == nil {
			return ""
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// keyOf is the value of a key option for ev: the value of the first path
// of expr ("data.to || data.userId") that ev has, or "" for an empty expr
// (one key for the whole function).
func keyOf(ev events.Event, expr string) string {
	for _, path := range alternatives(expr) {
		if v := Field(ev, path); v != "" {
			return v
		}
	}
	return ""
}

// alternatives splits a key expression into its paths.
func alternatives(expr string) []string {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	parts := strings.Split(expr, "||")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// checkKey reports an error when expr's paths are malformed, or a catalog
// event among names has none of them.
func checkKey(names []string, expr string) error {
	paths := alternatives(expr)
	if len(paths) == 0 {
		return nil
	}
	for _, path := range paths {
		if _, err := splitPath(path); err != nil {
			return err
		}
	}
	for _, name := range names {
		ok := false
		for _, path := range paths {
			if checkPath(name, path) == nil {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%s has no field %s", name, expr)
		}
	}
	return nil
}
