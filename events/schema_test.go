package events

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// schemaOf returns the decoded schema of the catalog event called name.
func schemaOf(t *testing.T, name string) map[string]any {
	t.Helper()

	raw, ok := Schema(name)
	require.True(t, ok, name)
	require.True(t, json.Valid(raw), name)

	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	return doc
}

func TestSchemaShape(t *testing.T) {
	t.Parallel()

	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			doc := schemaOf(t, name)
			require.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc["$schema"])
			require.Equal(t, name, doc["title"])
			require.NotEmpty(t, doc["description"])
			require.Equal(t, "object", doc["type"])
			require.NotContains(t, doc, "additionalProperties", "unknown properties are allowed (tolerant reader)")
			require.IsType(t, map[string]any{}, doc["properties"])
		})
	}
}

func TestSchemaUnknown(t *testing.T) {
	t.Parallel()

	raw, ok := Schema("app/custom")
	require.False(t, ok)
	require.Nil(t, raw)
}

// jsonFields returns the json names of typ's exported fields, and those
// without omitempty (the required ones).
func jsonFields(t *testing.T, typ reflect.Type) (map[string]reflect.StructField, []string) {
	t.Helper()

	all := map[string]reflect.StructField{}
	var required []string
	for _, sf := range reflect.VisibleFields(typ) {
		if !sf.IsExported() {
			continue
		}
		tag, ok := sf.Tag.Lookup("json")
		require.True(t, ok, "%s.%s has no json tag", typ, sf.Name)
		name, opts, _ := strings.Cut(tag, ",")
		require.NotEmpty(t, name, "%s.%s", typ, sf.Name)
		all[name] = sf
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			required = append(required, name)
		}
	}
	return all, required
}

// schemaType returns a property's type, the first one of a type list.
func schemaType(t *testing.T, prop map[string]any) string {
	t.Helper()

	switch typ := prop["type"].(type) {
	case string:
		return typ
	case []any:
		require.Len(t, typ, 2)
		require.Equal(t, "null", typ[1])
		s, ok := typ[0].(string)
		require.True(t, ok)
		return s
	}
	require.Failf(t, "property has no type", "%v", prop)
	return ""
}

// goSchemaType is the JSON Schema type a Go type marshals to.
func goSchemaType(typ reflect.Type) string {
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Slice:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "unsupported " + typ.String()
}

// requireSchemaMatchesStruct checks that schema's properties and required
// list are exactly typ's json fields and its fields without omitempty, that
// each property's type matches the Go field's, and that optional
// properties are nullable exactly when not required. It recurses into
// arrays of structs.
func requireSchemaMatchesStruct(t *testing.T, schema map[string]any, typ reflect.Type) {
	t.Helper()

	goFields, goRequired := jsonFields(t, typ)

	props, ok := schema["properties"].(map[string]any)
	require.True(t, ok, "%s: schema has no properties", typ)
	require.ElementsMatch(t, slices.Collect(maps.Keys(goFields)), slices.Collect(maps.Keys(props)), "%s: properties", typ)

	var schemaRequired []string
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			s, ok := r.(string)
			require.True(t, ok)
			schemaRequired = append(schemaRequired, s)
		}
	}
	require.ElementsMatch(t, goRequired, schemaRequired, "%s: required", typ)

	for name, sf := range goFields {
		prop, ok := props[name].(map[string]any)
		require.True(t, ok, "%s.%s", typ, name)
		require.Equal(t, goSchemaType(sf.Type), schemaType(t, prop), "%s.%s: type", typ, name)
		_, nullable := prop["type"].([]any)
		require.Equal(t, !slices.Contains(goRequired, name), nullable, "%s.%s: nullable", typ, name)

		if sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct {
			items, ok := prop["items"].(map[string]any)
			require.True(t, ok, "%s.%s: items", typ, name)
			require.NotContains(t, items, "additionalProperties")
			requireSchemaMatchesStruct(t, items, sf.Type.Elem())
		}
	}
}

// TestSchemaMatchesPayloads keeps the spec table, and so the validator and
// the schema, in step with the payload structs.
func TestSchemaMatchesPayloads(t *testing.T) {
	t.Parallel()

	for _, spec := range catalog() {
		t.Run(spec.name, func(t *testing.T) {
			t.Parallel()

			requireSchemaMatchesStruct(t, schemaOf(t, spec.name), reflect.TypeOf(spec.payload))
		})
	}
}

func TestSchemaOrderCreated(t *testing.T) {
	t.Parallel()

	want := `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"title": "order/created",
		"description": "An order was placed.",
		"type": "object",
		"required": ["orderId", "userId", "shopId", "items", "totalPaise"],
		"properties": {
			"orderId": {"type": "string", "minLength": 1, "format": "uuid", "description": "The new order's id."},
			"userId": {"type": "string", "minLength": 1, "format": "uuid", "description": "The customer's id."},
			"shopId": {"type": "string", "minLength": 1, "format": "uuid", "description": "The shop the order was placed with."},
			"items": {
				"type": "array", "minItems": 1, "description": "The order lines.",
				"items": {
					"type": "object", "description": "One order line.",
					"required": ["productId", "quantity", "pricePaise"],
					"properties": {
						"productId": {"type": "string", "minLength": 1, "format": "uuid", "description": "The ordered product's id."},
						"quantity": {"type": "integer", "exclusiveMinimum": 0, "description": "How many were ordered."},
						"pricePaise": {"type": "integer", "minimum": 0, "maximum": 9007199254740991, "description": "The unit price in paise."}
					}
				}
			},
			"totalPaise": {"type": "integer", "minimum": 0, "maximum": 9007199254740991, "description": "The order total in paise."}
		}
	}`

	raw, ok := Schema(NameOrderCreated)
	require.True(t, ok)
	require.JSONEq(t, want, string(raw))
}

func TestSchemaKeywords(t *testing.T) {
	t.Parallel()

	prop := func(t *testing.T, name, key string) map[string]any {
		t.Helper()

		props, ok := schemaOf(t, name)["properties"].(map[string]any)
		require.True(t, ok)
		p, ok := props[key].(map[string]any)
		require.True(t, ok, "%s has no property %s", name, key)
		return p
	}

	t.Run("Email", func(t *testing.T) {
		t.Parallel()

		require.Equal(t, "email", prop(t, NameUserCreated, "email")["format"])
		require.Equal(t, []any{"string", "null"}, prop(t, NameUserUpdated, "email")["type"])
		require.Equal(t, "email", prop(t, NameUserUpdated, "email")["format"])
	})

	t.Run("Enum", func(t *testing.T) {
		t.Parallel()

		require.Equal(t,
			[]any{"placed", "confirmed", "packed", "out_for_delivery", "delivered", "cancelled"},
			prop(t, NameOrderUpdated, "status")["enum"])
		require.Equal(t, []any{"email", "sms", "push"}, prop(t, NameNotificationSend, "channel")["enum"])
		require.Equal(t, []any{"product", "shop"}, prop(t, NameSearchIndex, "type")["enum"])
	})

	t.Run("UUID", func(t *testing.T) {
		t.Parallel()

		require.Equal(t, "uuid", prop(t, NameUserDeleted, "userId")["format"])
		require.Equal(t, "uuid", prop(t, NameSearchIndex, "id")["format"])
		require.Equal(t, "uuid", prop(t, NameProductUpdated, "shopId")["format"])
		require.Equal(t, []any{"string", "null"}, prop(t, NameNotificationSend, "userId")["type"])
		require.Equal(t, "uuid", prop(t, NameNotificationSend, "userId")["format"])
		require.NotContains(t, prop(t, NameAnalyticsTrack, "userId"), "format", "an analytics user is any string")
	})

	t.Run("OpenObject", func(t *testing.T) {
		t.Parallel()

		p := prop(t, NameAnalyticsTrack, "properties")
		require.Equal(t, []any{"object", "null"}, p["type"])
		require.NotContains(t, p, "additionalProperties")
	})

	t.Run("Bounds", func(t *testing.T) {
		t.Parallel()

		require.InDelta(t, 0, prop(t, NameCleanupOldLogs, "olderThanDays")["exclusiveMinimum"], 0)
		require.InDelta(t, 0, prop(t, NameProductUpdated, "stock")["minimum"], 0)
		require.InDelta(t, 1e10, prop(t, NameProductUpdated, "pricePaise")["maximum"], 0)
	})

	t.Run("Phone", func(t *testing.T) {
		t.Parallel()

		require.Equal(t, `^$|^\+[1-9][0-9]{1,14}$`, prop(t, NameUserCreated, "phone")["pattern"])
		require.Equal(t, `^$|^\+[1-9][0-9]{1,14}$`, prop(t, NameUserUpdated, "phone")["pattern"])
		require.NotContains(t, prop(t, NameNotificationSend, "to"), "pattern", "only an SMS's to is a phone number")
		doc := schemaOf(t, NameNotificationSend)
		require.Equal(t, map[string]any{
			"required":   []any{"channel"},
			"properties": map[string]any{"channel": map[string]any{"const": "sms"}},
		}, doc["if"])
		require.Equal(t, map[string]any{
			"properties": map[string]any{"to": map[string]any{"pattern": `^\+[1-9][0-9]{1,14}$`}},
		}, doc["then"])
	})

	t.Run("ToOrUserID", func(t *testing.T) {
		t.Parallel()

		doc := schemaOf(t, NameNotificationSend)
		require.Equal(t, []any{
			map[string]any{"required": []any{"to"}, "properties": map[string]any{"to": map[string]any{"type": "string"}}},
			map[string]any{"required": []any{"userId"}, "properties": map[string]any{"userId": map[string]any{"type": "string"}}},
		}, doc["anyOf"])
		require.Equal(t, []any{"channel", "message"}, doc["required"])
	})

	t.Run("NoFields", func(t *testing.T) {
		t.Parallel()

		doc := schemaOf(t, NameCleanupExpiredSessions)
		require.Equal(t, map[string]any{}, doc["properties"])
		require.NotContains(t, doc, "required")
	})
}
