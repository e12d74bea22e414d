package reliability

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	// header holds extra request headers; "Host" sets the request's Host.
	header map[string]string
	// raw, when set, is written as is to a TCP connection instead (framing
	// that an HTTP client would not send); method and path only label it.
	raw string
	// deny is text the answer must not contain (an owner's id).
	deny string
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
			cs = append(cs, hostileCase{method: r[0], path: r[1], key: apiKey, body: b[0], want: b[1]})
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
		cs = append(cs, hostileCase{method: "POST", path: "/v1/events", key: eventKey, body: e[0], want: e[1]}, hostileCase{method: "POST", path: "/e/" + eventKey, body: e[0], want: e[1]})
	}
	// Hostile and unknown ids in paths.
	ids := []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid", "1'%20OR%20'1'='1", "%27%3B%20DROP%20TABLE%20users%3B--",
		"..%2F..%2Fetc%2Fpasswd", strings.Repeat("9", 5000), "%00", "%FF%FE", "-1", "1e400"}
	for _, p := range []string{"/v1/users/", "/v1/shops/", "/v1/products/", "/v1/orders/", "/v1/events/"} {
		for _, id := range ids {
			cs = append(cs, hostileCase{method: "GET", path: p + id, key: apiKey})
		}
	}
	for _, id := range ids {
		cs = append(cs, hostileCase{method: "DELETE", path: "/v1/users/" + id, key: apiKey}, hostileCase{method: "DELETE", path: "/v1/products/" + id, key: apiKey})
	}
	// Bad keys: none, unknown (fewer than the 10 failures before the
	// failed-authentication limit), the other scope's key, a bad scheme.
	for _, k := range []string{"", "", "wrong-1", "wrong-2", "wrong-3", eventKey, eventKey} {
		cs = append(cs, hostileCase{method: "POST", path: "/v1/users", key: k, body: `{"email":"k@example.com","name":"K"}`},
			hostileCase{method: "GET", path: "/v1/users/" + user, key: k})
	}
	for _, k := range []string{"", apiKey, apiKey} {
		cs = append(cs, hostileCase{method: "POST", path: "/v1/events", key: k, body: `{"name":"analytics/track","data":{"event":"k"}}`})
	}
	cs = append(cs, hostileCase{method: "POST", path: "/e/wrong-4", body: `{"name":"analytics/track","data":{"event":"k"}}`},
		hostileCase{method: "PUT", path: "/v1/users/" + user, key: apiKey, body: `{"name":"x"}`}, hostileCase{method: "DELETE", path: "/v1/orders/" + order, key: apiKey})
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
	// With an ops listener, /metrics is not on the API port.
	s := c.start("api", "PUBLIC_EVENT_KEYS="+publicKey, "OPS_ADDR=127.0.0.1:0")
	fx := newShop(c, s.base, 1)
	order := idOf(t, c.must(http.StatusCreated, "POST", s.base+"/v1/orders", apiKey, fmt.Sprintf(
		`{"userId":%q,"shopId":%q,"items":[{"productId":%q,"quantity":1}]}`, fx.customers[0], fx.shop, fx.product)))
	// An event id the server-side sender uses: sent again with other data,
	// it is a conflict (409), not a silent duplicate.
	c.must(http.StatusOK, "POST", s.base+"/v1/events", eventKey, `{"id":"promo-42","name":"analytics/track","data":{"event":"promo"}}`)
	before := c.fingerprint()
	cases := hostileCases(fx.customers[0], fx.shop, fx.product, order)
	if !fullRun { // the short tier sends every third
		var some []hostileCase
		for i := 0; i < len(cases); i += 3 {
			some = append(some, cases[i])
		}
		cases = some
	}
	cases = append(cases, findingCases(fx.customers[0], fx.users[0], fx.product, order)...)
	statuses := map[int]int{}
	unnamed, leaked := 0, 0
	for _, hc := range cases {
		status, out := c.doHostile(s.base, hc)
		statuses[status]++
		short := hc.body
		if len(short) > 80 {
			short = short[:80] + "…"
		}
		if status < 400 || status > 499 {
			t.Errorf("%s %s %q: %d %s", hc.method, hc.path, short, status, out)
			continue
		}
		if what := internalDetail(out, hc.deny); what != "" {
			leaked++
			t.Errorf("%s %s %q: %d answer shows %q: %.300s", hc.method, hc.path, short, status, what, out)
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
	// One wrong key guessed again and again from this address is limited,
	// and locks out neither the valid keys nor the admin login.
	limited := 0
	for range 12 {
		switch status, out := c.do("GET", s.base+"/v1/users/"+fx.customers[0], "guess-1", ""); status {
		case http.StatusTooManyRequests:
			limited++
		case http.StatusUnauthorized:
		default:
			t.Errorf("a wrong key: %d %.200s, want 401 or 429", status, out)
		}
	}
	if limited == 0 {
		t.Error("12 tries of one wrong key were never limited")
	}
	c.must(http.StatusOK, "GET", s.base+"/v1/users/"+fx.customers[0], apiKey, "")
	c.must(http.StatusOK, "POST", s.base+"/v1/events", eventKey, `{"name":"analytics/track","data":{"event":"after-guesses"}}`)
	// An id a public key names first is its own ("public:…"): the
	// server-side sender's event with that id is stored all the same.
	c.must(http.StatusOK, "POST", s.base+"/v1/events", publicKey, `{"id":"promo-43","name":"analytics/track","data":{"event":"squat"}}`)
	if out := c.must(http.StatusOK, "POST", s.base+"/v1/events", eventKey, `{"id":"promo-43","name":"analytics/track","data":{"event":"promo"}}`); !strings.Contains(out, `"promo-43"`) {
		t.Errorf("the server-side sender's id was taken: %s", out)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+adminPass))
	if status, out := c.doHostile(s.base, hostileCase{method: "GET", path: "/admin/jobs/failed", header: map[string]string{"Authorization": basic}}); status != http.StatusOK {
		t.Errorf("admin login after the guesses: %d %.200s", status, out)
	}
	c.stop()
	figures = fmt.Sprintf("%d requests, answers %v, %d not naming the problem, %d answers with internal detail, rows changed: %t",
		len(cases), statuses, unnamed, leaked, before != after)
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

// publicKey is the browser-page event key of the hostile scenario
// (PUBLIC_EVENT_KEYS): it may send analytics/track only.
const publicKey = "rel-public-key-8e21d4"

// findingCases are requests that were once answered wrongly: a public key
// relaying messages, totals that overflowed, timestamps out of range,
// unreadable bodies, foreign Host names, cross-site posts, ids that could
// never name a row, and an answer that named an order's customer. All are
// sent in the short tier too.
func findingCases(customer, otherUser, product, order string) []hostileCase {
	var cs []hostileCase
	// A public key sends only the public names, on both event routes.
	relayed := [][2]string{
		{`{"name":"notification/send","data":{"channel":"email","to":"anyone@evil.example","subject":"Hi","message":"m"}}`, "notification/send"},
		{`{"name":"notification/send","data":{"channel":"sms","to":"+15550002222","message":"m"}}`, "notification/send"},
		{fmt.Sprintf(`{"name":"notification/send","data":{"channel":"email","userId":%q,"subject":"Your account","message":"m"}}`, customer), "notification/send"},
		{fmt.Sprintf(`{"name":"user/deleted","data":{"userId":%q}}`, customer), "user/deleted"},
		{`{"name":"cleanup/old_logs","data":{"olderThanDays":1}}`, "cleanup/old_logs"},
		{fmt.Sprintf(`{"name":"order/cancelled","data":{"orderId":%q,"userId":%q}}`, order, customer), "order/cancelled"},
		{`[{"name":"analytics/track","data":{"event":"ok"}},{"name":"cleanup/old_logs","data":{"olderThanDays":1}}]`, "cleanup/old_logs"},
	}
	for _, e := range relayed {
		cs = append(cs, hostileCase{method: "POST", path: "/v1/events", key: publicKey, body: e[0], want: e[1]},
			hostileCase{method: "POST", path: "/e/" + publicKey, body: e[0], want: e[1]})
	}
	cs = append(cs, hostileCase{method: "POST", path: "/v1/users", key: publicKey, body: `{"email":"p@example.com","name":"P"}`},
		hostileCase{method: "POST", path: "/v1/events", key: eventKey, want: "id", body: `{"id":"promo-42","name":"analytics/track","data":{"event":"other"}}`})
	// Malformed events, with the server key.
	for _, e := range [][2]string{
		{`{"name":"analytics/track","ts":9300000000000000,"data":{"event":"x"}}`, "ts"},
		{`{"name":"analytics/track","ts":9223372036854775807,"data":{"event":"x"}}`, "ts"},
		{`{"name":"analytics/track","ts":1,"data":{"event":"x"}}`, "ts"},
		{`{"name":"analytics/track","ts":-1,"data":{"event":"x"}}`, "ts"},
		{"{\"name\":\"analytics/\xfftrack\",\"data\":{\"event\":\"x\"}}", ""},
		{"{\"name\":\"analytics/track\",\"data\":{\"event\":\"x\xff\"}}", ""},
		{`{"name":"user/deleted","data":{"userId":"not-a-uuid"}}`, "userId"},
		{`{"name":"order/created","data":{"orderId":"not-a-uuid","userId":"u","shopId":"s","items":[{"productId":"p","quantity":1,"pricePaise":1}],"totalPaise":1}}`, "orderId"},
		{fmt.Sprintf(`{"name":"order/updated","data":{"orderId":%q,"userId":%q,"status":"confirmed","previousStatus":"placed"}}`, order, otherUser), "userId"},
	} {
		hc := hostileCase{method: "POST", path: "/v1/events", key: eventKey, body: e[0], want: e[1]}
		if strings.Contains(e[0], "order/updated") {
			hc.deny = customer // the order's customer is not told to a wrong one
		}
		cs = append(cs, hc)
	}
	// Money that does not fit.
	cs = append(cs,
		hostileCase{method: "POST", path: "/v1/products", key: apiKey, want: "pricePaise",
			body: `{"shopId":"00000000-0000-0000-0000-000000000000","name":"Gold","pricePaise":4611686018427387904,"stock":10}`},
		hostileCase{method: "PATCH", path: "/v1/products/" + product, key: apiKey, want: "pricePaise", body: `{"pricePaise":4611686018427387904}`},
		hostileCase{method: "POST", path: "/v1/orders", key: apiKey, want: "quantity", body: fmt.Sprintf(
			`{"userId":%q,"shopId":"00000000-0000-0000-0000-000000000000","items":[{"productId":%q,"quantity":4611686018427387904}]}`, customer, product)},
	)
	// Foreign Host names (DNS rebinding) and cross-site posts.
	evil := map[string]string{"Host": "evil.example"}
	crossSite := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}
	cs = append(cs,
		hostileCase{method: "GET", path: "/v1/users/" + customer, key: apiKey, header: evil},
		hostileCase{method: "GET", path: "/dev/mailbox", header: evil},
		hostileCase{method: "POST", path: "/v1/users", key: apiKey, body: `{"email":"h@example.com","name":"H"}`, header: evil},
		hostileCase{method: "POST", path: "/v1/users", key: apiKey, body: `{"email":"x@example.com","name":"X"}`, header: crossSite},
		hostileCase{method: "POST", path: "/v1/events", key: eventKey, header: crossSite,
			body: `{"name":"notification/send","data":{"channel":"email","to":"x@example.com","subject":"s","message":"m"}}`},
		hostileCase{method: "GET", path: "/metrics"},
	)
	// Bodies that cannot be read: cut short, and bad chunked framing.
	for _, p := range []struct{ path, key string }{{"/v1/events", eventKey}, {"/v1/users", apiKey}} {
		head := "POST " + p.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + p.key +
			"\r\nContent-Type: application/json\r\nConnection: close\r\n"
		cs = append(cs,
			hostileCase{method: "POST", path: p.path + " (truncated)", raw: head + "Content-Length: 100\r\n\r\n{\"name\":\"analytics/track\""},
			hostileCase{method: "POST", path: p.path + " (bad chunks)", raw: head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
		)
	}
	return cs
}

// doHostile sends hc to the server at base and returns the status and body.
func (c *cluster) doHostile(base string, hc hostileCase) (int, string) {
	c.t.Helper()
	if hc.raw != "" {
		return c.doRaw(base, hc.raw)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), hc.method, base+hc.path, strings.NewReader(hc.body))
	if err != nil {
		c.t.Fatalf("%s %s: %v", hc.method, hc.path, err)
	}
	if hc.key != "" {
		req.Header.Set("Authorization", "Bearer "+hc.key)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hc.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", hc.method, hc.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// doRaw writes raw to a new connection to base's address, closes the
// connection's sending side and reads the answer.
func (c *cluster) doRaw(base, raw string) (int, string) {
	c.t.Helper()
	conn, err := (&net.Dialer{}).DialContext(c.t.Context(), "tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		c.t.Fatal(err)
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		c.t.Fatalf("read the answer to %.60q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// internalDetail returns what of the server's insides (or deny) an answer
// shows, or "": SQL states, driver and Go source names, file paths, panics
// and the suite's secrets.
func internalDetail(body, deny string) string {
	markers := []string{"SQLSTATE", "pgx", "pgconn", "goroutine", ".go:", "/tmp/", "/work/", "panic",
		eventKey, apiKey, publicKey, adminPass}
	if deny != "" {
		markers = append(markers, deny)
	}
	for _, m := range markers {
		if strings.Contains(strings.ToLower(body), strings.ToLower(m)) {
			return m
		}
	}
	return ""
}
