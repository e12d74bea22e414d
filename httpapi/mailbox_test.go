package httpapi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/mohallamart/backend/httpapi"
)

// mailboxFixture stores three messages, oldest first: an email whose HTML
// tries to run a script, an SMS and a push. It returns their ids.
func mailboxFixture(t *testing.T, b *testBundle) (email, sms, push int64) {
	t.Helper()
	ins := func(age time.Duration, channel, recipient, subject, body, htmlBody string) int64 {
		var id int64
		require.NoError(t, b.pool.QueryRow(t.Context(), `
			INSERT INTO deliveries (channel, recipient, subject, body, html, provider, status, idempotency_key, created_at)
			VALUES ($1, $2, $3, $4, $5, 'capture', 'captured', $6, now() - $7::interval) RETURNING id`,
			channel, recipient, subject, body, htmlBody, channel+"/"+recipient, strconv.Itoa(int(age.Seconds()))+" seconds").Scan(&id))
		return id
	}
	email = ins(3*time.Minute, "email", "Asha@example.com", "Order placed: ₹1,398.00 at Gupta Kirana",
		"2 × Basmati Rice 5kg", `<h1>Thank you, Asha!</h1><p>2 × Basmati Rice 5kg</p><script>document.title="pwned"</script>`)
	sms = ins(2*time.Minute, "sms", "+919800000001", "", "Your order is out for delivery.", "")
	push = ins(time.Minute, "push", "6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21", "Out of stock: Toor Dal", "Toor Dal sold out.", "")
	return email, sms, push
}

// page GETs path with the admin credentials and parses the HTML answer.
func (b *testBundle) page(t *testing.T, path string) (response, *html.Node) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.srv.URL+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth(adminUser, adminPass)
	r := send(t, req)
	if r.status != http.StatusOK {
		return r, nil
	}
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	doc, err := html.Parse(bytes.NewReader(r.body))
	require.NoError(t, err)
	return r, doc
}

// find returns the elements for which match is true, in document order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if n.Type == html.ElementNode && match(n) {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, find(c, match)...)
	}
	return out
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		v, _ := attr(n, "class")
		return v == class
	}
}

func byID(doc *html.Node, id string) *html.Node {
	els := find(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })
	if len(els) != 1 {
		return nil
	}
	return els[0]
}

func text(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(sb.String())
}

// listed returns the ids of the messages a list page shows, in order.
func listed(t *testing.T, doc *html.Node) []int64 {
	t.Helper()
	var ids []int64
	for _, row := range find(doc, hasClass("message")) {
		v, _ := attr(row, "data-id")
		id, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids
}

// TestDevMailbox: the mailbox lists every message newest first, narrows by
// recipient (any case) and channel, and shows an email's HTML as its
// recipient saw it, in a sandboxed iframe under a policy that runs no
// script; an SMS shows its text.
func TestDevMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *httpapi.Opts) { o.DevMailbox = true })
	email, sms, push := mailboxFixture(t, b)

	r, doc := b.page(t, "/dev/mailbox")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Contains(t, r.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Equal(t, []int64{push, sms, email}, listed(t, doc))
	subjects := find(doc, hasClass("subject"))
	require.Equal(t, "Order placed: ₹1,398.00 at Gupta Kirana", text(subjects[2]))
	require.Equal(t, "Your order is out for delivery.", text(subjects[1]), "an SMS shows its text for a subject")

	_, doc = b.page(t, "/dev/mailbox?recipient=asha@EXAMPLE.com")
	require.Equal(t, []int64{email}, listed(t, doc))
	_, doc = b.page(t, "/dev/mailbox?channel=sms")
	require.Equal(t, []int64{sms}, listed(t, doc))
	_, doc = b.page(t, "/dev/mailbox?channel=email&recipient=%2B919800000001")
	require.Empty(t, listed(t, doc))
	empty := find(doc, hasClass("empty"))
	require.Len(t, empty, 1)
	require.Contains(t, text(empty[0]), "No messages match this filter")
	r, _ = b.page(t, "/dev/mailbox?channel=fax")
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"channel": "must be one of: email, sms, push"}, r.details(t))

	r, doc = b.page(t, "/dev/mailbox/"+strconv.FormatInt(email, 10))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Equal(t, "Asha@example.com", text(byID(doc, "to")))
	require.Equal(t, "Order placed: ₹1,398.00 at Gupta Kirana", text(byID(doc, "subject")))
	frame := byID(doc, "email")
	require.NotNil(t, frame, "the email is shown in an iframe")
	sandbox, ok := attr(frame, "sandbox")
	require.True(t, ok, "the iframe is sandboxed")
	require.Empty(t, sandbox, "the sandbox allows nothing, scripts included")
	srcdoc, _ := attr(frame, "srcdoc")
	require.Equal(t, `<h1>Thank you, Asha!</h1><p>2 × Basmati Rice 5kg</p><script>document.title="pwned"</script>`, srcdoc,
		"the iframe holds the stored HTML as it was sent")
	require.Empty(t, find(doc, func(n *html.Node) bool { return n.Data == "script" }), "no script element on the page itself")
	require.Equal(t, "2 × Basmati Rice 5kg", text(byID(doc, "text")))

	r, doc = b.page(t, "/dev/mailbox/"+strconv.FormatInt(sms, 10))
	require.Equal(t, http.StatusOK, r.status)
	require.Nil(t, byID(doc, "email"))
	require.Equal(t, "Your order is out for delivery.", text(byID(doc, "text")))

	for _, path := range []string{"/dev/mailbox/999999", "/dev/mailbox/abc", "/dev/mailbox/-1"} {
		r, _ = b.page(t, path)
		requireError(t, r, http.StatusNotFound)
	}

	// Admin credentials, when configured, guard it as they guard River UI.
	requireError(t, b.do(t, http.MethodGet, "/dev/mailbox", "", nil), http.StatusUnauthorized)
}

// TestDevMailboxOffInProduction: without DevMailbox (APP_ENV=production)
// the mailbox routes do not exist.
func TestDevMailboxOffInProduction(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	email, _, _ := mailboxFixture(t, b)
	for _, path := range []string{"/dev/mailbox", "/dev/mailbox/" + strconv.FormatInt(email, 10)} {
		r, _ := b.page(t, path)
		requireError(t, r, http.StatusNotFound)
		require.NotContains(t, string(r.body), "Basmati")
	}
}
