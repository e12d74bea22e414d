//go:build e2e

package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// patch sends body as JSON to the REST API and requires a 200.
func patch(t *testing.T, base, path string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, base+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "PATCH %s: %s", path, raw)
}

// getText answers GET base+path's body.
func getText(t *testing.T, base, path string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, raw)
	return string(raw)
}

// waitHeld polls GET /admin/functions/paused until function holds n runs:
// the worker holds a run when it fetches it, in another process that sends
// no signal this test could wait on.
func waitHeld(t *testing.T, base, function string, n int) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var page struct {
			Paused []struct {
				Function string `json:"function"`
				Held     int    `json:"held"`
			} `json:"paused"`
		}
		require.NoError(t, json.Unmarshal([]byte(getText(t, base, "/admin/functions/paused")), &page))
		for _, p := range page.Paused {
			if p.Function == function && p.Held == n {
				return
			}
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s never held %d runs", function, n)
		case <-tick.C:
		}
	}
}

// TestConsolePausesAndResumesAFunction is an operator holding a
// function's emails while something is wrong: pause send-order-update in
// the console (its dry run's count is shown first), update an order, see
// its update email's run held and no email sent, resume it (confirmed
// again), and see the update email sent once.
func TestConsolePausesAndResumesAFunction(t *testing.T) {
	mailbox, _ := startServer(t)
	base := strings.TrimSuffix(mailbox, "/dev/mailbox")

	customer := post(t, base, "/v1/users", map[string]any{"email": "farah@example.com", "name": "Farah", "phone": "+919800000501"})
	owner := post(t, base, "/v1/users", map[string]any{"email": "dsouza@example.com", "name": "Joel D'Souza"})
	shop := post(t, base, "/v1/shops", map[string]any{"name": "D'Souza Bakery", "ownerId": owner["id"], "address": "2 Church Street"})
	pav := post(t, base, "/v1/products", map[string]any{"shopId": shop["id"], "name": "Ladi Pav (6)", "pricePaise": 4000, "stock": 30})
	order := post(t, base, "/v1/orders", map[string]any{"userId": customer["id"], "shopId": shop["id"], "items": []map[string]any{
		{"productId": pav["id"], "quantity": 3},
	}})
	orderID := order["id"].(string)
	const updateSubject = "Your order is now: Confirmed"

	// 5. Pause send-order-update: the form, its dry run's count, confirm.
	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/actions?function=send-order-update"),
		chromedp.WaitVisible(chromedp.CSS("#pause")),
		chromedp.Click(`//form[@action="/admin/actions/pause"]//button`),
		chromedp.WaitVisible(chromedp.CSS(".confirm")),
	))
	confirm, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, confirm, "Pausing send-order-update holds its 0 runs ready to start now")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "console-pause-confirm.png", png)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//button[starts-with(normalize-space(.), "Confirm")]`),
		chromedp.WaitVisible(chromedp.CSS(".done")),
	))
	done, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".done")))
	require.NoError(t, err)
	require.Contains(t, done, "Paused send-order-update")

	// Update the order: its update email's run is held, and no email is sent.
	patch(t, base, "/v1/orders/"+orderID, map[string]any{"status": "confirmed"})
	waitHeld(t, base, "send-order-update", 1)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/admin/actions"), chromedp.WaitVisible(chromedp.CSS("#paused"))))
	held, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-function="send-order-update"] .held`)))
	require.NoError(t, err)
	require.Equal(t, "1", strings.TrimSpace(held))
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "console-paused.png", png)
	runs := getText(t, base, "/admin/runs?"+url.Values{"entity": {"order:" + orderID}, "function": {"send-order-update"}}.Encode())
	require.Contains(t, runs, `"status":"paused"`, "the held run reads as paused: it has not run")
	require.NotContains(t, getText(t, base, "/dev/mailbox?"+url.Values{"recipient": {"farah@example.com"}}.Encode()), updateSubject)

	// 6. Resume it, confirmed, and see the update sent.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//tr[@data-function="send-order-update"]//button`),
		chromedp.WaitVisible(chromedp.CSS(".confirm")),
	))
	confirm, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".confirm")))
	require.NoError(t, err)
	require.Contains(t, confirm, "Resuming send-order-update releases its 1 held runs")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//button[starts-with(normalize-space(.), "Confirm")]`),
		chromedp.WaitVisible(chromedp.CSS(".done")),
	))
	done, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".done")))
	require.NoError(t, err)
	require.Contains(t, done, "Resumed send-order-update: 1 held runs released.")
	waitListed(t, mailbox, "farah@example.com", updateSubject)
	waitRun(t, base, url.Values{"entity": {"order:" + orderID}, "function": {"send-order-update"}, "status": {"completed"}})
	list := getText(t, base, "/dev/mailbox?"+url.Values{"recipient": {"farah@example.com"}}.Encode())
	require.Equal(t, 1, strings.Count(list, updateSubject), "the update was sent once")

	// On a phone: the actions page and its confirm page fit the screen.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/admin/actions"), chromedp.WaitVisible(chromedp.CSS("main"))))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 390, "/admin/actions is %d px wide at 390 px", width)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//form[@action="/admin/actions/cancel"]//button`),
		chromedp.WaitVisible(chromedp.CSS(".confirm")),
	))
	width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	require.NoError(t, err)
	require.LessOrEqual(t, width, 390, "the confirm page is %d px wide at 390 px", width)
}
