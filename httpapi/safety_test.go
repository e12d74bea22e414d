package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/internal/testserver"
)

const (
	msgNUL     = `must not contain the NUL character (\u0000)`
	msgPhone   = "must be an E.164 phone number, such as +919800000001"
	msgNotUUID = "must be a UUID, such as 0f8fad5b-d9cb-469f-a165-70867728950e"
)

// writes counts the event rows and River jobs, to show a request wrote
// nothing.
func (b *testBundle) writes(t *testing.T) [2]int {
	t.Helper()
	return [2]int{b.count(t, "SELECT count(*) FROM events"), b.count(t, "SELECT count(*) FROM river_job")}
}

// TestEventsMustNameStoredRows: an event from outside whose jobs would read
// a row this service never stored (and so drop a product from search, or
// cancel themselves in silence) is answered 422, naming the id and the route
// that creates it, and nothing is written.
func TestEventsMustNameStoredRows(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f, other := newFixture(t, b), newFixture(t, b)
	gone := newFixture(t, b)
	require.Equal(t, http.StatusNoContent, b.do(t, "DELETE", "/v1/users/"+gone.userID, apiKey, nil).status)
	const unknown = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"
	// The real owners, which a wrong owner's answer must not name.
	owners := map[string]string{"OutOfStockOtherShop": f.shopID, "OrderCancelledOtherCustomer": f.userID}
	notStored := func(kind, id, route string) string {
		return fmt.Sprintf("%s %s is not stored here; create it with POST /v1/%s", kind, id, route)
	}

	for _, tc := range []struct {
		name, event string
		want        map[string]string
	}{
		{"ProductUpdated", `{"name":"product/updated","data":{"productId":"` + unknown + `","stock":3}}`,
			map[string]string{"data.productId": notStored("product", unknown, "products")}},
		{"ProductCreated", `{"name":"product/created","data":{"productId":"` + unknown + `","shopId":"` + f.shopID + `","name":"Atta"}}`,
			map[string]string{"data.productId": notStored("product", unknown, "products")}},
		{"SearchIndexProduct", `{"name":"search/index","data":{"type":"product","id":"` + unknown + `"}}`,
			map[string]string{"data.id": notStored("product", unknown, "products")}},
		{"SearchIndexNotAUUID", `{"name":"search/index","data":{"type":"product","id":"p_1"}}`,
			map[string]string{"data.id": msgNotUUID}},
		{"SearchIndexShop", `{"name":"search/index","data":{"type":"shop","id":"` + unknown + `"}}`,
			map[string]string{"data.id": notStored("shop", unknown, "shops")}},
		{"OutOfStockUnknownProduct", `{"name":"product/out_of_stock","data":{"productId":"` + unknown + `","shopId":"` + f.shopID + `","name":"Atta"}}`,
			map[string]string{"data.productId": notStored("product", unknown, "products")}},
		{"OutOfStockOtherShop", `{"name":"product/out_of_stock","data":{"productId":"` + f.productID + `","shopId":"` + other.shopID + `","name":"Atta"}}`,
			map[string]string{"data.shopId": "is not the shop of product " + f.productID}},
		{"OrderCreated", `{"name":"order/created","data":{"orderId":"` + unknown + `","userId":"` + f.userID + `","shopId":"` + f.shopID +
			`","items":[{"productId":"` + f.productID + `","quantity":1,"pricePaise":100}],"totalPaise":100}}`,
			map[string]string{"data.orderId": notStored("order", unknown, "orders")}},
		{"OrderUpdated", `{"name":"order/updated","data":{"orderId":"` + unknown + `","userId":"` + f.userID + `","status":"confirmed","previousStatus":"placed"}}`,
			map[string]string{"data.orderId": notStored("order", unknown, "orders")}},
		{"OrderCancelledOtherCustomer", `{"name":"order/cancelled","data":{"orderId":"` + f.orderID + `","userId":"` + other.userID + `"}}`,
			map[string]string{"data.userId": "is not the customer of order " + f.orderID}},
		{"OrderCancelledUnknownOrderAndUser", `{"name":"order/cancelled","data":{"orderId":"` + unknown + `","userId":"` + unknown + `"}}`,
			map[string]string{"data.orderId": notStored("order", unknown, "orders"), "data.userId": notStored("user", unknown, "users")}},
		{"NotificationUnknownUser", `{"name":"notification/send","data":{"channel":"email","userId":"` + unknown + `","message":"Hi"}}`,
			map[string]string{"data.userId": notStored("user", unknown, "users")}},
		{"NotificationDeletedUser", `{"name":"notification/send","data":{"channel":"push","userId":"` + gone.userID + `","message":"Hi"}}`,
			map[string]string{"data.userId": "user " + gone.userID + " was deleted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.writes(t)
			r := b.do(t, "POST", "/v1/events", testKey, tc.event)
			m := requireError(t, r, http.StatusUnprocessableEntity)
			require.Equal(t, "The event names something this service does not hold; nothing was stored.", m["error"])
			require.Equal(t, tc.want, r.details(t))
			require.Equal(t, before, b.writes(t), "nothing written")
			if owner := owners[tc.name]; owner != "" {
				require.NotContains(t, string(r.body), owner, "a key holder learns no one's order or shop")
			}
		})
	}

	t.Run("BatchThroughInngestRoute", func(t *testing.T) {
		before := b.writes(t)
		r := b.do(t, "POST", "/e/"+testKey, "", `[`+
			`{"name":"user/created","data":{"userId":"`+unknown+`","email":"new@example.com","name":"New"}},`+
			`{"name":"product/updated","data":{"productId":"`+f.productID+`","stock":3}},`+
			`{"name":"search/index","data":{"type":"product","id":"`+unknown+`"}}]`)
		m := requireError(t, r, http.StatusUnprocessableEntity)
		require.Equal(t, "One or more events name things this service does not hold; nothing was stored.", m["error"])
		require.Equal(t, map[string]string{"events[2].data.id": notStored("product", unknown, "products")}, r.details(t))
		require.Equal(t, before, b.writes(t), "nothing written, not even the valid events")
	})

	t.Run("InvalidEventComesFirst", func(t *testing.T) {
		r := b.do(t, "POST", "/v1/events", testKey, `[`+
			`{"name":"search/index","data":{"type":"product","id":"`+unknown+`"}},`+
			`{"name":"user/created","data":{"userId":"u1","email":"nope","name":"X"}}]`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"events[1].data.email": "must be a valid email address"}, r.details(t))
	})

	// Rows that are stored: every event goes through, with its jobs. A
	// deleted product is stored too (indexing removes it from search).
	t.Run("StoredRowsAccepted", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, b.do(t, "DELETE", "/v1/products/"+other.productID, apiKey, nil).status)
		r := b.do(t, "POST", "/v1/events", testKey, `[`+
			`{"name":"product/updated","id":"ok-1","data":{"productId":"`+strings.ToUpper(f.productID)+`","stock":3}},`+
			`{"name":"search/index","id":"ok-2","data":{"type":"product","id":"`+other.productID+`"}},`+
			`{"name":"search/index","id":"ok-3","data":{"type":"shop","id":"`+f.shopID+`"}},`+
			`{"name":"product/out_of_stock","id":"ok-4","data":{"productId":"`+f.productID+`","shopId":"`+f.shopID+`","name":"Atta"}},`+
			`{"name":"order/updated","id":"ok-5","data":{"orderId":"`+f.orderID+`","userId":"`+f.userID+`","status":"confirmed","previousStatus":"placed"}},`+
			`{"name":"notification/send","id":"ok-6","data":{"channel":"email","userId":"`+f.userID+`","message":"Hi"}},`+
			`{"name":"notification/send","id":"ok-7","data":{"channel":"email","to":"someone@example.com","message":"Hi"}},`+
			`{"name":"user/deleted","id":"ok-8","data":{"userId":"`+unknown+`"}}]`)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(t, 8, b.count(t, "SELECT count(*) FROM events WHERE id LIKE 'ok-%'"))
		require.Equal(t, 1, b.count(t, "SELECT count(*) FROM river_job WHERE args->>'event_id' = 'ok-5' AND kind = 'send_order_update'"))
		require.Equal(t, 2, b.count(t, "SELECT count(*) FROM river_job WHERE args->>'event_id' IN ('ok-6', 'ok-7') AND kind = 'send_notification'"))
	})
}

// TestUnstorableText: PostgreSQL refuses the NUL character in text and
// jsonb, invalid UTF-8, unpaired surrogate escapes and numbers beyond its
// numeric type; they are a 400 naming the field, not a 500.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f := newFixture(t, b)

	rest := []struct {
		method, path, body, field string
	}{
		{"POST", "/v1/users", `{"email":"nul@example.com","name":"A\u0000"}`, "name"},
		{"PATCH", "/v1/users/" + f.userID, `{"name":"\u0000"}`, "name"},
		{"POST", "/v1/shops", `{"name":"Kirana","ownerId":"` + f.userID + `","address":"MG\u0000Road"}`, "address"},
		{"POST", "/v1/products", `{"shopId":"` + f.shopID + `","name":"Atta","description":"\u0000","pricePaise":1,"stock":1}`, "description"},
		{"PATCH", "/v1/products/" + f.productID, `{"category":"x\u0000"}`, "category"},
		{"POST", "/v1/orders", `{"userId":"` + f.userID + `","shopId":"` + f.shopID + `","items":[{"productId":"\u0000","quantity":1}]}`, "items[0].productId"},
		{"POST", "/v1/orders/" + f.orderID + "/cancel", `{"reason":"\u0000"}`, "reason"},
	}
	for _, tc := range rest {
		r := b.do(t, tc.method, tc.path, apiKey, tc.body)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{tc.field: msgNUL}, r.details(t), "%s %s", tc.method, tc.path)
	}
	// Go would store U+FFFD for these; the body is refused instead.
	for body, want := range map[string]string{
		"{\"email\":\"\xff@example.com\",\"name\":\"A\"}": "must be valid UTF-8",
		`{"email":"s@example.com","name":"\ud800"}`:       "unpaired surrogate",
	} {
		before := b.writes(t)
		r := b.do(t, "POST", "/v1/users", apiKey, body)
		requireError(t, r, http.StatusBadRequest)
		require.Contains(t, string(r.body), want)
		require.Equal(t, before, b.writes(t))
	}

	evs := []struct {
		body string
		want map[string]string
	}{
		{`{"name":"app/\u0000"}`, map[string]string{"name": msgNUL}},
		{`{"name":"app/x","id":"a\u0000"}`, map[string]string{"id": msgNUL}},
		{`{"name":"product/created","data":{"productId":"` + f.productID + `","shopId":"` + f.shopID + `","name":"\u0000"}}`, map[string]string{"data.name": msgNUL}},
		{`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"a@example.com","name":"A","extra":["\u0000"]}}`, map[string]string{"data.extra[0]": msgNUL}},
		{`{"name":"app/x","data":{"a":{"b":"\u0000"}}}`, map[string]string{"data.a.b": msgNUL}},
		{`{"name":"app/x","data":{"a\u0000":1}}`, map[string]string{"data": `must not have a key containing the NUL character (\u0000)`}},
		{"{\"name\":\"app/x\",\"data\":{\"a\":\"\xff\"}}", map[string]string{"data": "must be valid UTF-8"}},
		{`{"name":"app/x","data":{"a":"\ud800"}}`, map[string]string{"data": `must not contain an unpaired surrogate escape (\ud800 to \udfff)`}},
		{`{"name":"app/x","data":{"n":1e131072,"m":[1e-16384]}}`, map[string]string{"data.n": "is out of range", "data.m[0]": "is out of range"}},
	}
	for _, tc := range evs {
		before := b.writes(t)
		r := b.do(t, "POST", "/v1/events", testKey, tc.body)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, tc.want, r.details(t), "%s", tc.body)
		require.Equal(t, before, b.writes(t))
	}

	// What PostgreSQL can store is accepted: the limits are PostgreSQL's.
	r := b.do(t, "POST", "/v1/events", testKey, `{"name":"app/x","id":"storable","data":{"a":1e131071,"b":1e-16383,"c":"\ud83d\ude00","d":"\\u0000 is text"}}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var stored struct {
		Data map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b.do(t, "GET", "/v1/events/storable", apiKey, nil).body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&stored))
	require.Len(t, stored.Data["a"], 131072)
	require.Equal(t, "😀", stored.Data["c"])
	require.Equal(t, `\u0000 is text`, stored.Data["d"])

	for _, path := range []string{"/v1/events/a%00b", "/v1/events/%FF"} {
		requireError(t, b.do(t, "GET", path, apiKey, nil), http.StatusNotFound)
	}
	for query, want := range map[string]map[string]string{
		"q=atta%00":  {"q": msgNUL},
		"q=%FF":      {"q": "must be valid UTF-8"},
		"shopId=%00": {"shopId": msgNUL},
	} {
		r := b.do(t, "GET", "/v1/search/products?"+query, apiKey, nil)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, want, r.details(t), query)
	}

	// An SDK header that is not UTF-8 is not stored as the source.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/e/"+testKey, strings.NewReader(`{"name":"app/x","id":"sdk-latin1"}`))
	require.NoError(t, err)
	req.Header.Set("X-Inngest-Sdk", "inngest-js:v3\xff")
	require.Equal(t, http.StatusOK, send(t, req).status)
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM events WHERE id = 'sdk-latin1' AND source = 'http'"))
}

// TestMethodNotAllowed: a path with routes for other methods answers 405
// with Allow, in the API's error shape; a path with none 404.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v1/events", "GET, HEAD, POST"}, // GET lists events (API key)
		{"GET", "/e/" + testKey, "POST"},
		{"DELETE", "/v1/orders/" + missingID, "GET, HEAD, PATCH"},
		{"GET", "/v1/orders/" + missingID + "/cancel", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/v1/shops", "POST"},
	} {
		r := b.do(t, tc.method, tc.path, testKey, nil)
		m := requireError(t, r, http.StatusMethodNotAllowed)
		require.Equal(t, tc.allow, r.header.Get("Allow"), "%s %s", tc.method, tc.path)
		require.Equal(t, "Method "+tc.method+" is not allowed here; use "+tc.allow+".", m["error"])
		require.NotContains(t, string(r.body), testKey, "the path of /e/{eventKey} holds the key")
	}
	r := b.do(t, "POST", "/v1/nothing", apiKey, nil)
	requireError(t, r, http.StatusNotFound)
	require.Empty(t, r.header.Get("Allow"))
}

// TestPhoneNumbersAreE164 in REST user bodies and in event data.
func TestPhoneNumbersAreE164(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)

	r := b.do(t, "POST", "/v1/users", apiKey, map[string]any{"email": "p@example.com", "name": "P", "phone": "+91 98000 00001"})
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"phone": msgPhone}, r.details(t))
	r = b.do(t, "POST", "/v1/users", apiKey, map[string]any{"email": "p@example.com", "name": "P", "phone": "+919800000001"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = b.do(t, "PATCH", "/v1/users/"+r.json(t)["id"].(string), apiKey, map[string]any{"phone": "09800000001"})
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"phone": msgPhone}, r.details(t))

	r = b.do(t, "POST", "/v1/events", testKey, `[`+
		`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"a@example.com","name":"A","phone":"98000 00001"}},`+
		`{"name":"notification/send","data":{"channel":"sms","to":"9800000001","message":"OTP 4321"}}]`)
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"events[0].data.phone": msgPhone, "events[1].data.to": msgPhone}, r.details(t))
}

// TestEmptyPatch: a PATCH with no field changes nothing, publishes nothing
// (no product/updated, no index_product job) and answers 200 with the row
// as it is.
func TestEmptyPatch(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f := newFixture(t, b)
	for _, path := range []string{"/v1/products/" + f.productID, "/v1/users/" + f.userID} {
		current := b.do(t, "GET", path, apiKey, nil)
		for _, body := range []string{`{}`, `{"name":null}`} {
			before := b.writes(t)
			r := b.do(t, "PATCH", path, apiKey, body)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			require.JSONEq(t, string(current.body), string(r.body))
			require.Equal(t, before, b.writes(t), "PATCH %s %s publishes nothing", path, body)
		}
	}
	requireError(t, b.do(t, "PATCH", "/v1/products/"+missingID, apiKey, `{}`), http.StatusNotFound)
}

// TestUnroutedEvents: events whose names trigger nothing are accepted,
// logged and counted, under a bounded set of label values.
// TestReservedEventNames: the functions' own events (an invoked run's
// start and its result) cannot be sent over HTTP, where they would start
// any function with any data or end another run's wait; nothing of the
// request is stored.
func TestReservedEventNames(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	before := b.count(t, "SELECT count(*) FROM events")
	r := b.do(t, "POST", "/v1/events", testKey, `[{"name":"analytics/track","data":{"event":"Opened"}},`+
		`{"name":"inngest/function.invoked","data":{"function_id":"send-notification","data":{"channel":"email","to":"x@example.com","message":"hi"}}}]`)
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	require.Contains(t, string(r.body), `events[1].name`)
	require.Contains(t, string(r.body), "reserved")
	require.Equal(t, before, b.count(t, "SELECT count(*) FROM events"), "nothing stored")
}

func TestUnroutedEvents(t *testing.T) {
	t.Parallel()
	var logs testserver.Buffer
	b := setup(t, func(o *httpapi.Opts) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })

	r := b.do(t, "POST", "/v1/events", testKey, `[{"name":"user/create"},{"name":"user/create"},`+
		`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"a@example.com","name":"A"}},`+
		`{"name":"user/updated","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21"}}]`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Contains(t, logs.String(), `"msg":"Event name starts no function: the event is stored and triggers nothing","name":"user/create","events":2`)
	require.NotContains(t, logs.String(), `"name":"user/created"`)
	require.NotContains(t, logs.String(), `"name":"user/updated"`, "a catalog event only one function listens to is routed")

	// 60 more names, one too long and one with a space: 50 names at most
	// have their own series; the rest count as (other).
	evs := make([]string, 0, 62)
	for i := range 60 {
		evs = append(evs, fmt.Sprintf(`{"name":"app/e%02d"}`, i))
	}
	evs = append(evs, `{"name":"app/`+strings.Repeat("x", 100)+`"}`, `{"name":"app/has space"}`)
	r = b.do(t, "POST", "/v1/events", testKey, "["+strings.Join(evs, ",")+"]")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	metrics := string(b.do(t, "GET", "/metrics", "", nil).body)
	require.Contains(t, metrics, `mohallamart_events_unrouted_total{name="user/create"} 2`)
	require.Contains(t, metrics, `mohallamart_events_unrouted_total{name="app/e48"} 1`)
	require.NotContains(t, metrics, `name="app/e49"`)
	require.Contains(t, metrics, `mohallamart_events_unrouted_total{name="(other)"} 13`)
	require.NotContains(t, metrics, `mohallamart_events_unrouted_total{name="user/created"}`)
	require.Equal(t, 51, strings.Count(metrics, "mohallamart_events_unrouted_total{"))
	require.Contains(t, metrics, `mohallamart_events_ingested_total{name="custom"} 64`)
	require.NotContains(t, metrics, `mohallamart_events_unrouted_total{name="user/updated"}`)
}
