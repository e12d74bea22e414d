//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.Run(m, dbtest.Run)) }

// startServer runs the server as `make run` does (development, ROLE=all,
// no event keys) on a fresh test database, on a free port of 127.0.0.1:
// E2E_SERVER (`make e2e` builds bin/server) or the server built now. It
// returns the mailbox URL the server prints once it is ready.
func startServer(t *testing.T) (mailboxURL string, logs *testserver.Buffer) {
	t.Helper()
	s := testserver.Start(t, testserver.Options{Bin: os.Getenv("E2E_SERVER"), Env: []string{
		"DATABASE_URL=" + dbtest.NewURL(t.Context(), t), "ADDR=127.0.0.1:0", "APP_ENV=development", "ROLE=all",
		"MIGRATE_ON_START=false", "LOG_LEVEL=info",
	}})
	t.Cleanup(func() { _, _ = s.Stop(time.Minute) }) // before the kill Start registered
	mailboxURL = s.WaitLog(t, regexp.MustCompile(`(?m)^\s*Dev mailbox\s+(\S+)`))[1]
	require.Contains(t, s.Logs.String(), "MohallaMart is ready (development):")
	return mailboxURL, s.Logs
}

// post sends body as JSON to the REST API and decodes the 201 answer.
func post(t *testing.T, base, path string, body any) map[string]any {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST %s: %s", path, raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// waitListed polls the mailbox filtered to recipient until it lists
// subject: the worker captures the email shortly after the order commits,
// in another process that sends no signal this test could wait on.
func waitListed(t *testing.T, mailbox, recipient, subject string) {
	t.Helper()
	u := mailbox + "?" + url.Values{"recipient": {recipient}, "channel": {"email"}}.Encode()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
		if strings.Contains(string(page), subject) {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%q never reached the mailbox of %s", subject, recipient)
		case <-tick.C:
		}
	}
}

// chromium is the browser to drive: CHROME_PATH, or the first Chromium on
// PATH (`make e2e` installs Debian's chromium-headless-shell).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium-headless-shell", "chromium", "headless_shell", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: run `make e2e` (it installs chromium-headless-shell) or set CHROME_PATH")
	return ""
}

// browser starts headless Chromium with a fresh profile and returns a tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	var output testserver.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// screenshot saves png as name under E2E_SCREENSHOTS (default
// e2e/screenshots).
func screenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		dir = "screenshots"
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// TestMailboxShowsOrderConfirmation is a newcomer's first order: place it
// through the REST API, then find its confirmation in the dev mailbox in a
// browser, open it, and read the order's items as the customer would.
func TestMailboxShowsOrderConfirmation(t *testing.T) {
	mailbox, _ := startServer(t)
	base := strings.TrimSuffix(mailbox, "/dev/mailbox")

	customer := post(t, base, "/v1/users", map[string]any{"email": "kavya@example.com", "name": "Kavya", "phone": "+919800000301"})
	owner := post(t, base, "/v1/users", map[string]any{"email": "patel@example.com", "name": "Nilesh Patel"})
	shop := post(t, base, "/v1/shops", map[string]any{"name": "Patel Provisions", "ownerId": owner["id"], "address": "3 Station Road"})
	dal := post(t, base, "/v1/products", map[string]any{"shopId": shop["id"], "name": "Masoor Dal 1kg", "pricePaise": 13250, "stock": 20})
	rice := post(t, base, "/v1/products", map[string]any{"shopId": shop["id"], "name": "Sona Masoori Rice 10kg", "pricePaise": 89900, "stock": 5})
	order := post(t, base, "/v1/orders", map[string]any{"userId": customer["id"], "shopId": shop["id"], "items": []map[string]any{
		{"productId": dal["id"], "quantity": 2}, {"productId": rice["id"], "quantity": 1},
	}})
	require.Equal(t, 116400.0, order["totalPaise"])
	const subject = "Order placed: ₹1,164.00 at Patel Provisions"
	waitListed(t, mailbox, "kavya@example.com", subject)

	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(mailbox), chromedp.WaitVisible(chromedp.CSS("#messages"))))
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#messages")))
	require.NoError(t, err)
	require.Contains(t, list, subject)
	require.Contains(t, list, "kavya@example.com")
	require.Contains(t, list, "Welcome to MohallaMart, Kavya!")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "mailbox.png", png)

	// Open the confirmation as a developer would: click its subject.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//a[@class="subject"][contains(., "Order placed")]`),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#subject")))
	require.NoError(t, err)
	require.Equal(t, subject, got)
	frame, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#email")))
	require.NoError(t, err)
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"), chromedp.FromNode(frame[0])))
	require.NoError(t, err, "read the email inside its iframe")
	for _, want := range []string{"Thank you for your order, Kavya!", order["id"].(string),
		"Masoor Dal 1kg", "₹132.50", "₹265.00", "Sona Masoori Rice 10kg", "₹899.00", "₹1,164.00"} {
		require.Contains(t, body, want)
	}
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "mailbox-email.png", png)
}
