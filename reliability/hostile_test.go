package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// hostileCase is one request that must be refused.
type hostileCase struct {
	method, path, key, body string
	// want is a phrase the answer must contain (the field or the problem);
	// empty: any answer with an error sentence.
	want string
}

// hostileBodies are bodies no JSON route accepts, with what the answer
// must name ("" for any error sentence).
func hostileBodies() [][2]string {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	huge := `{"name":"` + strings.Repeat("x", 4<<20) + `"}`
	return [][2]string{
		{``, ""}, {`{`, ""}, {`[`, ""}, {`nul`, ""}, {`{"a":}`, ""}, {`{"email":"a@example.com",}`, ""},
		{`"just a string"`, ""}, {`123`, ""}, {`[1,2,3]`, ""}, {`{} {}`, ""}, {"\xff\xfe\xfd", ""},
		{"{\"email\":\"\xff@example.com\",\"name\":\"x\"}", ""}, {`{"email":"a@example.com","name":"\ud800"}`, ""},
		{`{"email":"a@example.com","name":"a\u0000b"}`, "name"},
		{deep, ""}, {deepObj, ""}, {huge, ""},
		{`{"email":123,"name":"x"}`, "email"}, {`{"email":["a@example.com"],"name":"x"}`, "email"},
		{`{"name":{"$ne":null},"email":"a@example.com"}`, "name"},
		{`{"email":"' OR 1=1; --","name":"x"}`, "email"}, {`{"email":"a@example.com'; DROP TABLE users; --","name":"x"}`, "email"},
		{`{"email":"a@example.com","name":"x","phone":"'; DELETE FROM users; --"}`, "phone"},
		{`{"bogus":1}`, "bogus"}, {`{"pricePaise":1e400}`, ""}, {`{"pricePaise":99999999999999999999999}`, ""},
		{`{"stock":"12"}`, "stock"}, {`{"quantity":-1e308}`, ""}, {`{"status":"teleported"}`, ""},
		{`{"shopId":"' OR '1'='1","name":"x","pricePaise":1,"stock":1}`, "shopId"},
		{`{"userId":"00000000-0000-0000-0000-000000000000","shopId":"00000000-0000-0000-0000-000000000000","items":[{"productId":"00000000-0000-0000-0000-000000000000","quantity":1}]}`, ""},
	}
}

// hostileCases builds the requests: every hostile body on every JSON route,
// hostile ids in paths, hostile events and bad keys.
func hostileCases(user, shop, product, order string) []hostileCase {
	var cs []hostileCase
	routes := [][2]string{
		{"POST", "/v1/users"}, {"POST", "/v1/shops"}, {"POST", "/v1/products"}, {"POST", "/v1/orders"},
		{"PATCH", "/v1/users/" + user}, {"PATCH", "/v1/products/" + product}, {"PATCH", "/v1/orders/" + order},
		{"POST", "/v1/orders/" + order + "/cancel"},
	}
	for _, r := range routes {
		for _, b := range hostileBodies() {
			userBody := strings.HasPrefix(r[1], "/v1/users")
			if b[0] == "" && strings.HasSuffix(r[1], "/cancel") {
				continue // a cancellation's body is optional
			}
			// The fields named are a user's, or a product's shopId;
			// another route names the first field it does not know.
			if b[1] != "" && b[1] != "bogus" && !userBody && !(b[1] == "shopId" && r[1] == "/v1/products") {
				b[1] = ""
			}
			cs = append(cs, hostileCase{r[0], r[1], apiKey, b[0], b[1]})
		}
	}
	// Event bodies, sent to both event routes.
	events := [][2]string{
		{`{"name":"user/created","data":{"userId":"u1","email":"not-an-email","name":"x"}}`, "data.email"},
		{`{"name":"user/created","data":{"userId":1,"email":"a@example.com","name":"x"}}`, "data.userId"},
		{`{"name":"user/created","data":{"UserID":"u1","email":"a@example.com","name":"x"}}`, "UserID"},
		{`{"name":"order/created","data":{"orderId":"00000000-0000-0000-0000-000000000000","userId":"u","shopId":"s","items":[],"totalPaise":1}}`, "data.items"},
		{`{"name":"product/out_of_stock","data":{"productId":"' OR 1=1 --","shopId":"s","name":"x"}}`, "productId"},
		{`{"name":"","data":{}}`, "name"}, {`{"data":{}}`, "name"}, {`{"name":"a\u0000b","data":{}}`, "name"},
		{`{"name":"x","id":"a\u0000b","data":{}}`, "id"}, {`{"name":"x","data":{"n":1e131072}}`, ""},
		{`{"name":"x","data":{"s":"\udc00"}}`, ""}, {`{"name":"x","data":[]}`, "data"}, {`{"name":"x","data":"str"}`, "data"},
		{`{"name":"x","ts":"yesterday","data":{}}`, "ts"}, {`{"name":"x","ts":1e400,"data":{}}`, "ts"},
		{`{"name":"x","id":"` + strings.Repeat("i", 300) + `","data":{}}`, "id"}, {`{"name":"x","bogus":1,"data":{}}`, "bogus"},
		{`[{"name":"analytics/track","data":{"event":"ok"}},{"name":"user/created","data":{}}]`, "events[1]"},
		{`{"name":"notification/send","data":{"channel":"fax","to":"+91","message":"m"}}`, "channel"},
		{`{"name":"notification/send","data":{"channel":"sms","to":"+91-98-00","message":"m"}}`, "to"},
		{`{"name":"x","data":{"k":"` + strings.Repeat("v", 300<<10) + `"}}`, ""},
	}
	for _, b := range hostileBodies() {
		events = append(events, [2]string{b[0], ""})
	}
	for _, e := range events {
		cs = append(cs, hostileCase{"POST", "/v1/events", eventKey, e[0], e[1]}, hostileCase{"POST", "/e/" + eventKey, "", e[0], e[1]})
	}
	// Hostile and unknown ids in paths.
	ids := []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid", "1'%20OR%20'1'='1", "%27%3B%20DROP%20TABLE%20users%3B--",
		"..%2F..%2Fetc%2Fpasswd", strings.Repeat("9", 5000), "%00", "%FF%FE", "-1", "1e400"}
	for _, p := range []string{"/v1/users/", "/v1/shops/", "/v1/products/", "/v1/orders/", "/v1/events/"} {
		for _, id := range ids {
			cs = append(cs, hostileCase{"GET", p + id, apiKey, "", ""})
		}
	}
	for _, id := range ids {
		cs = append(cs, hostileCase{"DELETE", "/v1/users/" + id, apiKey, "", ""}, hostileCase{"DELETE", "/v1/products/" + id, apiKey, "", ""})
	}
	// Bad keys: none, unknown (fewer than the 10 failures before the
	// failed-authentication limit), the other scope's key, a bad scheme.
	for _, k := range []string{"", "", "wrong-1", "wrong-2", "wrong-3", eventKey, eventKey} {
		cs = append(cs, hostileCase{"POST", "/v1/users", k, `{"email":"k@example.com","name":"K"}`, ""},
			hostileCase{"GET", "/v1/users/" + user, k, "", ""})
	}
	for _, k := range []string{"", apiKey, apiKey} {
		cs = append(cs, hostileCase{"POST", "/v1/events", k, `{"name":"analytics/track","data":{"event":"k"}}`, ""})
	}
	cs = append(cs, hostileCase{"POST", "/e/wrong-4", "", `{"name":"analytics/track","data":{"event":"k"}}`, ""},
		hostileCase{"PUT", "/v1/users/" + user, apiKey, `{"name":"x"}`, ""}, hostileCase{"DELETE", "/v1/orders/" + order, apiKey, "", ""})
	return cs
}

// TestHostileRequests sends hundreds of malformed, oversized, mistyped,
// injecting and unauthorised requests: each is answered 4xx with an error
// sentence naming the problem, none is a server error, and no row changes.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, "5. hostile requests", &figures)
	c := newCluster(t)
	s := c.start("api")
	fx := newShop(c, s.base, 1)
	order := idOf(t, c.must(http.StatusCreated, "POST", s.base+"/v1/orders", apiKey, fmt.Sprintf(
		`{"userId":%q,"shopId":%q,"items":[{"productId":%q,"quantity":1}]}`, fx.customers[0], fx.shop, fx.product)))
	before := c.fingerprint()
	cases := hostileCases(fx.customers[0], fx.shop, fx.product, order)
	if !fullRun { // the short tier sends every third
		var some []hostileCase
		for i := 0; i < len(cases); i += 3 {
			some = append(some, cases[i])
		}
		cases = some
	}
	statuses := map[int]int{}
	unnamed := 0
	for _, hc := range cases {
		status, out := c.do(hc.method, s.base+hc.path, hc.key, hc.body)
		statuses[status]++
		short := hc.body
		if len(short) > 80 {
			short = short[:80] + "…"
		}
		if status < 400 || status > 499 {
			t.Errorf("%s %s %q: %d %s", hc.method, hc.path, short, status, out)
			continue
		}
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error == "" {
			t.Errorf("%s %s %q: %d without an error sentence: %.200s", hc.method, hc.path, short, status, out)
			continue
		}
		if hc.want != "" && !strings.Contains(strings.ToLower(out), strings.ToLower(hc.want)) {
			unnamed++
			t.Errorf("%s %s %q: %d does not name %q: %.300s", hc.method, hc.path, short, status, hc.want, out)
		}
	}
	after := c.fingerprint()
	if before != after {
		t.Errorf("rows changed:\nbefore %s\nafter  %s", before, after)
	}
	if n := strings.Count(c.logs.String(), "status=5"); n != 0 {
		t.Errorf("%d server errors logged", n)
	}
	c.stop()
	figures = fmt.Sprintf("%d requests, answers %v, %d not naming the problem, rows changed: %t", len(cases), statuses, unnamed, before != after)
	if fullRun && len(cases) < 300 {
		t.Errorf("%d hostile requests, want at least 300", len(cases))
	}
}

// fingerprint is a digest of every row of the tables a request could
// change.
func (c *cluster) fingerprint() string {
	c.t.Helper()
	var parts []string
	for _, table := range []string{"users", "shops", "products", "orders", "order_items", "sessions", "events", "river_job", "deliveries", "analytics_pending"} {
		var n int
		var sum string
		err := c.pool.QueryRow(c.t.Context(), fmt.Sprintf(`SELECT count(*), md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM %s x`, table)).Scan(&n, &sum)
		if err != nil {
			c.t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d/%.8s", table, n, sum))
	}
	return strings.Join(parts, " ")
}
