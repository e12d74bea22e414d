//go:build e2e

package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// waitRun polls GET /admin/runs with query until it answers a run, and
// returns its id: the worker runs the function shortly after the order
// commits, in another process that sends no signal this test could wait on.
func waitRun(t *testing.T, base string, query url.Values) int64 {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/admin/runs?"+query.Encode(), nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		var page struct {
			Runs []struct {
				ID int64 `json:"id"`
			} `json:"runs"`
		}
		require.NoError(t, json.Unmarshal(raw, &page))
		if len(page.Runs) > 0 {
			return page.Runs[0].ID
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("no run for %s", query.Encode())
		case <-tick.C:
		}
	}
}

// TestConsoleShowsAnOrdersConfirmationRun is an operator asking what
// happened to one order's email: place the order through the REST API,
// find it in the console by entity=order:<id>, open its event, then its
// send-order-confirmation run, and read the four steps with their
// durations. Every page must be usable on a 390 px wide phone: nothing is
// wider than the screen (tables scroll inside their box).
func TestConsoleShowsAnOrdersConfirmationRun(t *testing.T) {
	mailbox, _ := startServer(t)
	base := strings.TrimSuffix(mailbox, "/dev/mailbox")

	customer := post(t, base, "/v1/users", map[string]any{"email": "meera@example.com", "name": "Meera", "phone": "+919800000401"})
	owner := post(t, base, "/v1/users", map[string]any{"email": "iqbal@example.com", "name": "Iqbal Khan"})
	shop := post(t, base, "/v1/shops", map[string]any{"name": "Khan General Store", "ownerId": owner["id"], "address": "7 Market Lane"})
	atta := post(t, base, "/v1/products", map[string]any{"shopId": shop["id"], "name": "Chakki Atta 5kg", "pricePaise": 24500, "stock": 10})
	order := post(t, base, "/v1/orders", map[string]any{"userId": customer["id"], "shopId": shop["id"], "items": []map[string]any{
		{"productId": atta["id"], "quantity": 2},
	}})
	entity := "order:" + order["id"].(string)
	runID := waitRun(t, base, url.Values{"entity": {entity}, "function": {"send-order-confirmation"}, "status": {"completed"}})

	ctx := browser(t)
	// 1. The events page, filtered to the order: its order/created event
	// and the confirmation run it caused.
	eventsURL := base + "/admin/?" + url.Values{"entity": {entity}}.Encode()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(eventsURL), chromedp.WaitVisible(chromedp.CSS("table"))))
	events, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, events, "order/created")
	require.Contains(t, events, "send-order-confirmation · completed")
	require.NotContains(t, events, "meera@example.com", "no personal data on the events page")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "console-events.png", png)

	// 2. The event's page lists its runs; 3. open the confirmation run.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`//a[normalize-space(.)="order/created"]`),
		chromedp.WaitVisible(`//h2[normalize-space(.)="Runs"]`),
		chromedp.Click(`//td/a[normalize-space(.)="send-order-confirmation"]`),
		chromedp.WaitVisible(chromedp.CSS(".timeline")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, "/admin/runs/"+strconv.FormatInt(runID, 10)), "the run page of run %d: %s", runID, loc)

	// 4. The four steps, each with a bar and a duration.
	type row struct {
		Step     string  `json:"step"`
		Duration string  `json:"duration"`
		Width    float64 `json:"width"`
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll('.tl-row')].map(r => ({
		step: r.dataset.step,
		duration: r.querySelector('.tl-dur').textContent.trim(),
		width: r.querySelector('.tl-bar').getBoundingClientRect().width,
	}))`))
	require.NoError(t, err)
	var steps []string
	duration := regexp.MustCompile(`^\d+(\.\d)? (ms|s)$`)
	for _, r := range rows {
		steps = append(steps, r.Step)
		require.Regexp(t, duration, r.Duration, "step %s has a duration", r.Step)
		require.Positive(t, r.Width, "step %s has a bar", r.Step)
	}
	require.Equal(t, []string{"load", "render", "send", "record"}, steps)
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	for _, want := range []string{"completed", "version 1", order["id"].(string), `"provider": "capture"`} {
		require.Contains(t, strings.ReplaceAll(page, `":"`, `": "`), want)
	}
	require.NotContains(t, page, "meera@example.com", "the outputs pass through the allow-list")
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "console-run.png", png)

	// The functions page: each declared function with its runs.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/admin/functions"), chromedp.WaitVisible(chromedp.CSS("table"))))
	fns, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Regexp(t, `send-order-confirmation\s+v1 · queue email\s+order/created`, fns)
	png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	screenshot(t, "console-functions.png", png)

	// On a phone: no page is wider than the screen.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	runURL := base + "/admin/runs/" + strconv.FormatInt(runID, 10)
	for _, u := range []string{eventsURL, base + "/admin/", base + "/admin/runs", runURL, base + "/admin/functions"} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main"))))
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 390, "%s is %d px wide at 390 px", u, width)
		if u == runURL {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
			require.NoError(t, err)
			screenshot(t, "console-run-390.png", png)
		}
	}
}
