package events

import (
	"encoding/json"
	"fmt"
)

// schemaDialect is the JSON Schema dialect of the schemas [Schema] returns.
const schemaDialect = "https://json-schema.org/draft/2020-12/schema"

// Schema returns the JSON Schema (draft 2020-12) of the data of the
// catalog event called name, as JSON, or false for names outside the
// catalog. The schema is rendered from the same field table the validator
// walks, so an event passes [Validate] exactly when its data matches the
// schema, except that [Validate] also treats absent or null data as {},
// wants integers written without a fraction or exponent (1, not 1.0 or
// 1e0) that fit in 64 bits, always checks "format": "email" (with
// net/mail, bare addresses only) and, for new events, "format": "uuid"
// (the 36-character form only), which JSON Schema leaves optional,
// rejects a property that differs from a known one only in letter case,
// and rejects what PostgreSQL cannot store in jsonb: the NUL character,
// invalid UTF-8, unpaired surrogate escapes and numbers beyond its numeric
// type. Properties the schema does not list are allowed: the data is read
// tolerantly, and they are stored and ignored.
func Schema(name string) (json.RawMessage, bool) {
	spec, ok := lookup(name)
	if !ok {
		return nil, false
	}

	doc := fieldSchema(spec.data, true)
	doc["$schema"] = schemaDialect
	doc["title"] = spec.name
	doc["description"] = spec.desc

	out, err := json.Marshal(doc)
	if err != nil {
		// The document holds only strings, numbers, bools, slices and maps.
		panic(fmt.Sprintf("events: error marshaling schema of %s: %v", name, err))
	}
	return out, true
}

// fieldSchema renders f as a JSON Schema object. An optional field also
// allows null, which the validator treats as absent.
func fieldSchema(f field, required bool) map[string]any {
	s := map[string]any{}
	if f.desc != "" {
		s["description"] = f.desc
	}
	if required {
		s["type"] = string(f.typ)
	} else {
		s["type"] = []string{string(f.typ), "null"}
	}

	switch f.typ {
	case typeString:
		if f.nonEmpty {
			s["minLength"] = 1
		}
		if len(f.enum) > 0 {
			enum := make([]any, 0, len(f.enum)+1)
			for _, e := range f.enum {
				enum = append(enum, e)
			}
			if !required {
				enum = append(enum, nil)
			}
			s["enum"] = enum
		}
		if f.email {
			s["format"] = "email"
		}
		if f.uuid {
			s["format"] = "uuid"
		}
		if f.phone {
			// Empty means no phone number.
			s["pattern"] = "^$|" + phonePattern
		}
	case typeInteger:
		if f.min != nil {
			if f.min.exclusive {
				s["exclusiveMinimum"] = f.min.value
			} else {
				s["minimum"] = f.min.value
			}
		}
		if f.max != nil {
			s["maximum"] = *f.max
		}
	case typeArray:
		if f.nonEmpty {
			s["minItems"] = 1
		}
		if f.items != nil {
			s["items"] = fieldSchema(*f.items, true)
		}
	case typeObject:
		objectSchema(s, f)
	}
	return s
}

// objectSchema adds the properties, required list, alternatives and
// conditions of object field f to s. Other properties are allowed.
func objectSchema(s map[string]any, f field) {
	props := make(map[string]any, len(f.fields))
	var (
		required []string
		all      []any
		groups   [][]any
		conds    []map[string]any
	)
	for _, p := range f.fields {
		props[p.key] = fieldSchema(p, p.required)
		if p.required {
			required = append(required, p.key)
		}
		if p.orKey != "" {
			// Either key must be present and non-null.
			groups = append(groups, []any{
				presentSchema(p.key, p.typ),
				presentSchema(p.orKey, p.typ),
			})
		}
		if p.phoneWhen != nil {
			conds = append(conds, map[string]any{
				"if": map[string]any{
					"required":   []string{p.phoneWhen.key},
					"properties": map[string]any{p.phoneWhen.key: map[string]any{"const": p.phoneWhen.value}},
				},
				"then": map[string]any{
					"properties": map[string]any{p.key: map[string]any{"pattern": phonePattern}},
				},
			})
		}
	}
	s["properties"] = props
	if len(required) > 0 {
		s["required"] = required
	}
	if len(groups) == 1 {
		s["anyOf"] = groups[0]
	} else {
		for _, g := range groups {
			all = append(all, map[string]any{"anyOf": g})
		}
	}
	if len(conds) == 1 {
		s["if"], s["then"] = conds[0]["if"], conds[0]["then"]
	} else {
		for _, c := range conds {
			all = append(all, c)
		}
	}
	if len(all) > 0 {
		s["allOf"] = all
	}
}

// presentSchema matches objects that have key with a non-null value of
// type typ.
func presentSchema(key string, typ jsonType) map[string]any {
	return map[string]any{
		"required":   []string{key},
		"properties": map[string]any{key: map[string]any{"type": string(typ)}},
	}
}
