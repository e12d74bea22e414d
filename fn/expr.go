package fn

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mohallamart/backend/events"
)

// condition is a parsed trigger filter: comparisons of a field of the
// event with a literal, all of which must hold.
type condition []comparison

type comparison struct {
	path  string
	equal bool   // == (else !=)
	value string // the literal as Field renders it
}

// parseCondition parses expr: one or more `path == literal` or
// `path != literal` joined by &&, where path is a field path into the
// event's data and literal a JSON string ('single' or "double" quotes), a
// number, true, false or null ("" in Field's terms).
func parseCondition(expr string) (condition, error) {
	var c condition
	for _, part := range strings.Split(expr, "&&") {
		part = strings.TrimSpace(part)
		op, equal := "==", true
		if strings.Contains(part, "!=") {
			op, equal = "!=", false
		}
		path, lit, ok := strings.Cut(part, op)
		if !ok {
			return nil, fmt.Errorf("if %q: %q is not path == value or path != value", expr, part)
		}
		path, lit = strings.TrimSpace(path), strings.TrimSpace(lit)
		if _, err := splitPath(path); err != nil {
			return nil, fmt.Errorf("if %q: %w", expr, err)
		}
		if strings.HasPrefix(lit, "'") && strings.HasSuffix(lit, "'") && len(lit) >= 2 {
			lit = `"` + strings.ReplaceAll(lit[1:len(lit)-1], `"`, `\"`) + `"`
		}
		var v any
		if err := json.Unmarshal([]byte(lit), &v); err != nil {
			return nil, fmt.Errorf("if %q: %s is not a string, number, true, false or null", expr, lit)
		}
		value := ""
		switch v := v.(type) {
		case nil:
		case string:
			value = v
		default:
			value = lit
		}
		c = append(c, comparison{path: path, equal: equal, value: value})
	}
	return c, nil
}

// holds reports whether every comparison holds for ev.
func (c condition) holds(ev events.Event) bool {
	for _, cmp := range c {
		if (Field(ev, cmp.path) == cmp.value) != cmp.equal {
			return false
		}
	}
	return true
}

// OnIf returns the trigger of event name when expr holds for the event, as
// Inngest's trigger `if`: comparisons joined by &&, each a field path, ==
// or !=, and a literal, such as `data.status == 'confirmed'`. An expr that
// does not parse is an error when the Registry is built.
func OnIf(name, expr string) []Trigger {
	t := Trigger{Event: name, Expr: expr}
	c, err := parseCondition(expr)
	if err != nil {
		t.err = err
		return []Trigger{t}
	}
	t.If = c.holds
	return []Trigger{t}
}
