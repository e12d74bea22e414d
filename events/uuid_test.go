package events

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCanonicalUUID(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]string{
		"0f8fad5b-d9cb-469f-a165-70867728950e": "0f8fad5b-d9cb-469f-a165-70867728950e",
		"0F8FAD5B-D9CB-469F-A165-70867728950E": "0f8fad5b-d9cb-469f-a165-70867728950e",
		"0f8fAD5b-d9cb-469f-a165-70867728950E": "0f8fad5b-d9cb-469f-a165-70867728950e",
	} {
		got, ok := CanonicalUUID(in)
		require.True(t, ok, in)
		require.Equal(t, want, got)
	}
	for _, in := range []string{
		"", "not-a-uuid", "u_1",
		"0f8fad5bd9cb469fa16570867728950e",              // no hyphens
		"{0f8fad5b-d9cb-469f-a165-70867728950e}",        // braces
		"urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", // URN
		"0f8fad5b-d9cb-469f-a165-70867728950g",          // not hex
		"0f8fad5b-d9cb-469f-a165-70867728950",           // short
		"0f8fad5b-d9cb-469f-a165_70867728950e",          // a hyphen misplaced
		"0f8fad5b-d9cb-469f-a165-70867728950e\x00",      // NUL
		"０f8fad5b-d9cb-469f-a165-70867728950",           // a full-width digit
	} {
		_, ok := CanonicalUUID(in)
		require.False(t, ok, "%q", in)
	}
}

// uuidPaths lists, as "event data.path", every field the catalog marks as
// a UUID.
func uuidPaths() []string {
	var paths []string
	var walk func(event, path string, f field)
	walk = func(event, path string, f field) {
		if f.uuid {
			paths = append(paths, event+" "+path)
		}
		for _, sub := range f.fields {
			walk(event, path+"."+sub.key, sub)
		}
		if f.items != nil {
			walk(event, path+"[]", *f.items)
		}
	}
	for _, spec := range catalog() {
		walk(spec.name, "data", spec.data)
	}
	slices.Sort(paths)
	return paths
}

// TestCatalogUUIDFields: every id that an event's jobs look a row up by (a
// user, shop, product or order) is a UUID. The others are free text: the
// user of user/created and user/updated, whose jobs need no row here (the
// user may live in another system), an analytics user, a push recipient's
// external id in to.
func TestCatalogUUIDFields(t *testing.T) {
	t.Parallel()

	require.Equal(t, []string{
		"notification/send data.userId",
		"order/cancelled data.orderId", "order/cancelled data.userId",
		"order/created data.items[].productId", "order/created data.orderId", "order/created data.shopId", "order/created data.userId",
		"order/updated data.orderId", "order/updated data.userId",
		"product/created data.productId", "product/created data.shopId",
		"product/out_of_stock data.productId", "product/out_of_stock data.shopId",
		"product/updated data.productId", "product/updated data.shopId",
		"search/index data.id",
		"user/deleted data.userId",
	}, uuidPaths())
}

// TestValidateUUIDs: an id the catalog marks as a UUID must be one, in
// either case; its failure has NotUUID set, which the HTTP API answers 422.
// Other failures of the same field (a wrong type, an empty string) keep
// their own message and are not NotUUID.
func TestValidateUUIDs(t *testing.T) {
	t.Parallel()

	check := func(name, data string) []FieldError {
		t.Helper()
		var verr *ValidationError
		if err := Validate(Event{Name: name, Data: json.RawMessage(data)}); errors.As(err, &verr) {
			return verr.Fields
		}
		return nil
	}
	require.Equal(t, []FieldError{{Field: "data.userId", Message: msgNotUUID, NotUUID: true}},
		check(NameUserDeleted, `{"userId":"not-a-uuid"}`))
	require.Equal(t, []FieldError{{Field: "data.items[1].productId", Message: msgNotUUID, NotUUID: true}},
		check(NameOrderCreated, `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001",`+
			`"shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":1},`+
			`{"productId":"p_2","quantity":1,"pricePaise":1}],"totalPaise":2}`))
	require.Equal(t, []FieldError{{Field: "data.userId", Message: "must not be empty"}},
		check(NameNotificationSend, `{"channel":"push","to":"ext-1","userId":"","message":"Hi"}`))
	require.Equal(t, []FieldError{{Field: "data.userId", Message: "must be a string"}}, check(NameUserDeleted, `{"userId":1}`))
	require.Nil(t, check(NameUserDeleted, `{"userId":"0F8FAD5B-D9CB-469F-A165-70867728950E"}`), "upper case is a UUID")
	require.Nil(t, check(NameAnalyticsTrack, `{"event":"page_view","userId":"anonymous-42"}`), "an analytics user is any string")
	require.Nil(t, check(NameNotificationSend, `{"channel":"push","to":"ext-1","message":"Hi"}`), "to is any recipient")
}

// TestValidateTS: a new event's ts, when set, falls in the years 2000 to
// 9999 (UTC); the zero ts means now.
func TestValidateTS(t *testing.T) {
	t.Parallel()

	for _, ts := range []time.Time{
		{},
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
	} {
		require.NoError(t, Validate(Event{Name: "app/x", TS: ts}), ts)
	}
	for _, ts := range []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2000, 1, 1, 4, 0, 0, 0, time.FixedZone("IST", 5*3600+1800)), // 1999-12-31T22:30Z
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.UnixMilli(9300000000000000),
		time.UnixMilli(9223372036854775807),
		time.UnixMilli(-1),
	} {
		err := Validate(Event{Name: "app/x", TS: ts})
		require.Equal(t, []string{"ts: " + TSProblem(ts)}, failures(t, err), ts)
	}
}

// TestDecodeStoredEvent: Decode reads events already stored, which may
// predate the rules for new events: an id that is not a UUID and a ts
// outside 2000 to 9999 still decode. DecodeAll, the publisher's, holds new
// events to them.
func TestDecodeStoredEvent(t *testing.T) {
	t.Parallel()

	old := Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"u-9"}`), TS: time.Unix(-1, 0)}
	p, err := Decode(old)
	require.NoError(t, err)
	require.Equal(t, UserDeleted{UserID: "u-9"}, p)

	_, err = DecodeAll([]Event{old})
	require.Equal(t, []string{"ts: " + TSProblem(old.TS), "data.userId: " + msgNotUUID}, failures(t, err))
}

// TestNormalize: the UUIDs of catalog data come out in lower case, at any
// depth; the data is not touched when there is nothing to lower, nor for
// values that are not UUIDs, fields the catalog does not list, custom
// events, or text Validate must see as it was sent.
func TestNormalize(t *testing.T) {
	t.Parallel()

	const upper, lower = "0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"
	ev := Event{ID: "e1", Name: NameOrderCreated, Source: "http", Data: json.RawMessage(`{"orderId":"` + upper + `","userId":"` + lower +
		`","shopId":"` + upper + `","items":[{"productId":"` + upper + `","quantity":1,"pricePaise":125,"grams":12.50e1,"note":"` + upper + `"}],` +
		`"totalPaise":125,"coupon":"<A&B>"}`)}
	got := Normalize(ev)
	require.JSONEq(t, `{"orderId":"`+lower+`","userId":"`+lower+`","shopId":"`+lower+`","items":[{"productId":"`+lower+
		`","quantity":1,"pricePaise":125,"grams":12.50e1,"note":"`+upper+`"}],"totalPaise":125,"coupon":"<A&B>"}`, string(got.Data))
	require.Contains(t, string(got.Data), `12.50e1`, "numbers keep their text")
	require.Contains(t, string(got.Data), `<A&B>`, "no HTML escaping")
	require.Equal(t, ev.ID, got.ID)
	require.Equal(t, ev.Source, got.Source)
	require.NoError(t, Validate(got))
	require.Equal(t, got, Normalize(got), "Normalize is idempotent")
	require.Contains(t, string(ev.Data), upper, "the caller's event is left as it is")

	for _, same := range []Event{
		{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"` + lower + `"}`)},
		{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"NOT-A-UUID"}`)},
		{Name: NameAnalyticsTrack, Data: json.RawMessage(`{"event":"E","userId":"` + upper + `"}`)},
		{Name: "app/x", Data: json.RawMessage(`{"userId":"` + upper + `"}`)},
		{Name: NameUserDeleted, Data: json.RawMessage("{\"userId\":\"" + upper + "\",\"x\":\"\xff\"}")},
		{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"` + upper + `","x":"\ud800"}`)},
		{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"` + upper + `"`)},
	} {
		require.Equal(t, same, Normalize(same), "%s", same.Data)
	}
}
