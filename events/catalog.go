package events

import (
	"slices"
	"sync"
)

// jsonType is the JSON type of a field, named as in JSON Schema.
type jsonType string

const (
	typeString  jsonType = "string"
	typeInteger jsonType = "integer"
	typeObject  jsonType = "object"
	typeArray   jsonType = "array"
)

// bound is an integer lower bound: value itself is allowed unless
// exclusive is set.
type bound struct {
	value     int64
	exclusive bool
}

// field describes one JSON value of an event's data: its type and the
// checks it must pass. The validator walks fields and Schema renders them,
// so this table is the single source of truth for both.
type field struct {
	// key is the property name in the enclosing object ("" for the data
	// object itself and for array elements).
	key string
	// desc is the schema description.
	desc string
	typ  jsonType
	// required makes the key mandatory; a null value counts as missing.
	// Optional keys may be null, which means absent.
	required bool
	// orKey names a sibling key that may stand in for this one: when both
	// are missing, this field is reported as "is required (or data.<orKey>)".
	orKey string
	// nonEmpty rejects "" for strings and [] for arrays.
	nonEmpty bool
	// enum lists the allowed string values.
	enum []string
	// email requires a string to be a bare email address.
	email bool
	// phone requires a non-empty string to be an E.164 phone number
	// ([ValidPhone]).
	phone bool
	// uuid requires a string to be a UUID ([CanonicalUUID]): the id of a
	// user, shop, product or order that the event's jobs look a row up by,
	// which no other string can name. Only new events are held to it (see
	// [Validate]); [Normalize] puts it in lower case.
	uuid bool
	// phoneWhen requires the string to be an E.164 phone number when the
	// sibling key holds the given value: the to of an SMS.
	phoneWhen *sibling
	// min is an integer's lower bound.
	min *bound
	// max is an integer's upper bound, inclusive.
	max *int64
	// items describes the elements of an array.
	items *field
	// fields describes the known properties of an object, in order. Other
	// properties are accepted and ignored (tolerant reader), except a key
	// that differs from a known one only in letter case, which encoding/json
	// would decode into the known field.
	fields []field
}

// sibling names a value of another key of the same object.
type sibling struct {
	key   string
	value string
}

// eventSpec is one catalog event.
type eventSpec struct {
	name string
	desc string
	// payload is the zero value of the event's typed payload; Decode
	// decodes into a new value of its type.
	payload Payload
	// data describes the event's data object.
	data field
}

// catalog returns the catalog's event specs in the order of the catalog
// table in docs/ARCHITECTURE.md. The table is built once and never changed
// after (it is on the hot path of every publish); callers must not modify it.
var catalog = sync.OnceValue(buildCatalog) //nolint:gochecknoglobals // immutable after first use

// catalogByName is catalog keyed by event name.
var catalogByName = sync.OnceValue(func() map[string]eventSpec { //nolint:gochecknoglobals // immutable after first use
	specs := make(map[string]eventSpec)
	for _, spec := range catalog() {
		specs[spec.name] = spec
	}
	return specs
})

// buildCatalog builds the catalog's event specs.
func buildCatalog() []eventSpec {
	// text is a required, non-empty string; id one that the event's jobs
	// look a row of this service up by, so a UUID.
	text := func(key, desc string) field {
		return field{key: key, desc: desc, typ: typeString, required: true, nonEmpty: true}
	}
	id := func(key, desc string) field {
		f := text(key, desc)
		f.uuid = true
		return f
	}
	str := func(key, desc string) field {
		return field{key: key, desc: desc, typ: typeString}
	}
	object := func(fields ...field) field {
		return field{typ: typeObject, fields: fields}
	}
	gte0 := &bound{value: 0}
	gt0 := &bound{value: 0, exclusive: true}
	maxPrice, maxTotal := MaxPricePaise, MaxTotalPaise

	return []eventSpec{
		{
			name:    NameUserCreated,
			desc:    "A user signed up.",
			payload: UserCreated{},
			data: object(
				text("userId", "The new user's id (any text: the user may live in another system)."),
				field{key: "email", desc: "The user's email address.", typ: typeString, required: true, nonEmpty: true, email: true},
				text("name", "The user's display name."),
				field{key: "phone", desc: "The user's phone number (E.164, such as +919800000001).", typ: typeString, phone: true},
			),
		},
		{
			name:    NameUserUpdated,
			desc:    "A user's profile changed; only the changed fields are present.",
			payload: UserUpdated{},
			data: object(
				text("userId", "The updated user's id (any text, as in user/created)."),
				field{key: "email", desc: "The new email address.", typ: typeString, nonEmpty: true, email: true},
				field{key: "name", desc: "The new display name.", typ: typeString, nonEmpty: true},
				field{key: "phone", desc: "The new phone number (E.164); empty clears it.", typ: typeString, phone: true},
			),
		},
		{
			name:    NameUserDeleted,
			desc:    "A user was deleted.",
			payload: UserDeleted{},
			data: object(
				id("userId", "The deleted user's id."),
			),
		},
		{
			name:    NameOrderCreated,
			desc:    "An order was placed.",
			payload: OrderCreated{},
			data: object(
				id("orderId", "The new order's id."),
				id("userId", "The customer's id."),
				id("shopId", "The shop the order was placed with."),
				field{
					key: "items", desc: "The order lines.", typ: typeArray, required: true, nonEmpty: true,
					items: &field{
						desc: "One order line.", typ: typeObject,
						fields: []field{
							id("productId", "The ordered product's id."),
							{key: "quantity", desc: "How many were ordered.", typ: typeInteger, required: true, min: gt0},
							{key: "pricePaise", desc: "The unit price in paise.", typ: typeInteger, required: true, min: gte0, max: &maxTotal},
						},
					},
				},
				field{key: "totalPaise", desc: "The order total in paise.", typ: typeInteger, required: true, min: gte0, max: &maxTotal},
			),
		},
		{
			name:    NameOrderUpdated,
			desc:    "An order's status changed.",
			payload: OrderUpdated{},
			data: object(
				id("orderId", "The order's id."),
				id("userId", "The customer's id."),
				field{key: "status", desc: "The new status.", typ: typeString, required: true, nonEmpty: true, enum: OrderStatuses()},
				field{key: "previousStatus", desc: "The status before the change.", typ: typeString, required: true, nonEmpty: true, enum: OrderStatuses()},
			),
		},
		{
			name:    NameOrderCancelled,
			desc:    "An order was cancelled.",
			payload: OrderCancelled{},
			data: object(
				id("orderId", "The cancelled order's id."),
				id("userId", "The customer's id."),
				str("reason", "Why the order was cancelled."),
			),
		},
		{
			name:    NameProductCreated,
			desc:    "A product was listed.",
			payload: ProductCreated{},
			data: object(
				id("productId", "The new product's id."),
				id("shopId", "The shop selling the product."),
				text("name", "The product's name."),
			),
		},
		{
			name:    NameProductUpdated,
			desc:    "A product changed; only the changed fields are present.",
			payload: ProductUpdated{},
			data: object(
				id("productId", "The updated product's id."),
				field{key: "shopId", desc: "The product's shop.", typ: typeString, nonEmpty: true, uuid: true},
				field{key: "name", desc: "The new name.", typ: typeString, nonEmpty: true},
				str("description", "The new description."),
				str("category", "The new category."),
				field{key: "pricePaise", desc: "The new price in paise.", typ: typeInteger, min: gte0, max: &maxPrice},
				field{key: "stock", desc: "The new stock level.", typ: typeInteger, min: gte0},
			),
		},
		{
			name:    NameProductOutOfStock,
			desc:    "A product's stock reached zero.",
			payload: ProductOutOfStock{},
			data: object(
				id("productId", "The product that ran out."),
				id("shopId", "The shop selling the product."),
				text("name", "The product's name."),
			),
		},
		{
			name:    NameNotificationSend,
			desc:    "Send an email, SMS or push message to an address or a user.",
			payload: NotificationSend{},
			data: object(
				field{key: "channel", desc: "How to send the message.", typ: typeString, required: true, nonEmpty: true, enum: []string{"email", "sms", "push"}},
				field{
					key: "to", desc: "The recipient: an email address, an E.164 phone number (sms) or a user's external id (push); required unless userId is given.",
					typ: typeString, nonEmpty: true, orKey: "userId", phoneWhen: &sibling{key: "channel", value: "sms"},
				},
				field{key: "userId", desc: "The recipient user; required unless to is given.", typ: typeString, nonEmpty: true, uuid: true},
				str("subject", "The subject (email) or title (push)."),
				text("message", "The message body."),
			),
		},
		{
			name:    NameAnalyticsTrack,
			desc:    "Record an analytics event.",
			payload: AnalyticsTrack{},
			data: object(
				text("event", "The analytics event name."),
				str("userId", "The user the event is about."),
				field{key: "properties", desc: "Free-form event properties.", typ: typeObject},
			),
		},
		{
			name:    NameSearchIndex,
			desc:    "Index a product or shop for search.",
			payload: SearchIndex{},
			data: object(
				field{key: "type", desc: "What to index.", typ: typeString, required: true, nonEmpty: true, enum: []string{"product", "shop"}},
				id("id", "The id of the product or shop."),
			),
		},
		{
			name:    NameCleanupExpiredSessions,
			desc:    "Remove expired sessions.",
			payload: CleanupExpiredSessions{},
			data:    object(),
		},
		{
			name:    NameCleanupOldLogs,
			desc:    "Remove old application logs.",
			payload: CleanupOldLogs{},
			data: object(
				field{key: "olderThanDays", desc: "Remove logs older than this many days; the worker's default when absent.", typ: typeInteger, min: gt0},
			),
		},
	}
}

// lookup returns the spec of the catalog event called name.
func lookup(name string) (eventSpec, bool) {
	spec, ok := catalogByName()[name]
	return spec, ok
}

// Known reports whether name is a catalog event. Names outside the catalog
// are still accepted as custom events.
func Known(name string) bool {
	_, ok := lookup(name)
	return ok
}

// Names returns the catalog event names, sorted. The slice is new on every
// call.
func Names() []string {
	specs := catalog()
	names := make([]string, 0, len(specs))
	for _, spec := range specs {
		names = append(names, spec.name)
	}
	slices.Sort(names)
	return names
}

// Zero returns the zero payload of the catalog event called name, or nil
// for a custom event.
func Zero(name string) Payload {
	spec, ok := lookup(name)
	if !ok {
		return nil
	}
	return spec.payload
}

// HasField reports whether the data of the catalog event called name has
// the field at path (its keys, outermost first: "address", "city"). Every
// path is taken to exist in a custom event.
func HasField(name string, path []string) bool {
	spec, ok := lookup(name)
	if !ok {
		return true
	}
	f := spec.data
	for _, key := range path {
		found := false
		for _, sub := range f.fields {
			if sub.key == key {
				f, found = sub, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
