package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/analytics/mixpanel"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/notify"
	"github.com/mohallamart/backend/notify/resend"
	"github.com/mohallamart/backend/search"
	"github.com/mohallamart/backend/search/typesense"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	values := []float64{5, 1, 4, 2, 3}
	require.InDelta(t, 1, percentile(values, 0), 1e-9)
	require.InDelta(t, 3, median(values), 1e-9)
	require.InDelta(t, 5, percentile(values, 100), 1e-9)
	require.InDelta(t, 4.96, percentile(values, 99), 1e-9, "interpolates between the closest ranks")
	require.Equal(t, []float64{5, 1, 4, 2, 3}, values, "the input is not sorted in place")
	require.True(t, math.IsNaN(percentile(nil, 50)))
}

func TestJudge(t *testing.T) {
	t.Parallel()
	r := newResults()
	ceiling := figureSpec{Scenario: "raw", Name: "ceiling", Unit: "jobs/s"}
	pipeline := figureSpec{Scenario: "pipe", Name: "jobs/s", Unit: "jobs/s", Target: ratioAtLeast(0.30), BaselineRef: "raw/ceiling"}
	latency := figureSpec{Scenario: "pipe", Name: "p99", Unit: "ms", Target: atMost(1000)}
	paired := figureSpec{Scenario: "outbox", Name: "tx/s", Unit: "tx/s", Target: ratioAtLeast(0.8), Baseline: "no outbox"}
	missing := figureSpec{Scenario: "pipe", Name: "backlog", Unit: "s", Target: atMost(2)}
	orphan := figureSpec{Scenario: "big", Name: "jobs/s", Unit: "jobs/s", Target: ratioAtLeast(0.85), BaselineRef: "pipe/none"}
	for _, v := range []float64{1000, 2000, 3000} {
		r.add(ceiling, v)
	}
	for _, v := range []float64{500, 700, 600} {
		r.add(pipeline, v)
		r.add(latency, v)
		r.add(orphan, v)
	}
	r.addPaired(paired, 90, 100)
	r.addPaired(paired, 70, 100)
	r.addPaired(paired, 85, 100)
	r.declare(missing)
	r.add(latency, 5000)
	r.fail(latency, "did not drain")

	byName := map[string]*figure{}
	for _, f := range r.finish(false) {
		byName[f.Spec.key()] = f
	}
	require.Equal(t, statusRecorded, byName["raw/ceiling"].Status)
	require.Equal(t, statusPass, byName["pipe/jobs/s"].Status, "600 / 2000 = 0.30")
	require.InDelta(t, 0.30, byName["pipe/jobs/s"].Ratio.Median, 1e-9)
	require.Equal(t, statusFail, byName["pipe/p99"].Status, "a recorded failure fails whatever the values")
	require.Equal(t, statusPass, byName["outbox/tx/s"].Status, "median of per-repeat ratios 0.9, 0.7, 0.85")
	require.InDelta(t, 0.85, byName["outbox/tx/s"].Ratio.Median, 1e-9)
	require.Equal(t, statusFail, byName["pipe/backlog"].Status, "a figure never measured fails")
	require.Equal(t, statusNA, byName["big/jobs/s"].Status, "no baseline: no verdict")
}

func TestReportMarkdown(t *testing.T) {
	t.Parallel()
	r := newResults()
	spec := figureSpec{Scenario: "analytics", Name: "events/s delivered", Unit: "events/s", Target: atLeast(5000)}
	r.add(spec, 99.5)
	r.add(spec, 100)
	r.add(spec, 101)
	r.fail(spec, "repeat 2: delivered 500 of 1000 events within 5s")
	rep := report{
		Info:      runInfo{Label: "quick", Repeats: 3, Command: "go run ./bench -quick", LoadStart: "0.42 0.30 0.20"},
		Scenarios: []scenarioInfo{{Name: "analytics", How: "events through the API"}},
		Figures:   r.finish(false),
	}
	md := rep.markdown()
	require.Contains(t, md, "QUICK run")
	require.Contains(t, md, "| analytics | events/s delivered | 99.5 / 100 / 101 events/s | — | — | ≥ 5000 events/s | **FAIL** |")
	require.Contains(t, md, "FAIL: repeat 2: delivered 500 of 1000 events within 5s")
	require.True(t, rep.anyFailed())
	require.NotContains(t, md, "Machine busy")
}

func TestBusyMachineIsNotJudged(t *testing.T) {
	t.Parallel()
	r := newResults()
	fast := figureSpec{Scenario: "pickup", Name: "p50", Unit: "ms", Target: atMost(5)}
	slow := figureSpec{Scenario: "pickup", Name: "p99", Unit: "ms", Target: atMost(20)}
	broken := figureSpec{Scenario: "analytics", Name: "events/s", Unit: "events/s", Target: atLeast(5000)}
	recorded := figureSpec{Scenario: "pickup", Name: "jobs/s", Unit: "jobs/s"}
	r.add(fast, 1)
	r.add(slow, 50)
	r.add(broken, 6000)
	r.fail(broken, "repeat 1: the server exited")
	r.add(recorded, 500)
	rep := report{Info: runInfo{Label: "full", Repeats: 1, LoadStart: "3.10 2.00 1.00"}}
	require.True(t, rep.Info.busy())
	rep.Figures = r.finish(rep.Info.busy())
	status := map[string]string{}
	for _, f := range rep.Figures {
		status[f.Spec.key()] = f.Status
	}
	require.Equal(t, map[string]string{
		"pickup/p50": statusBusy, "pickup/p99": statusBusy, // neither PASS nor FAIL on a busy machine
		"analytics/events/s": statusFail, // a failure to run is still one
		"pickup/jobs/s":      statusRecorded,
	}, status)
	md := rep.markdown()
	require.Contains(t, md, "**Machine busy**: the 1-minute load average was 3.10 at the start, above 1.0")
	require.Contains(t, md, "| pickup | p99 | 50 / 50 / 50 ms | — | — | ≤ 20 ms | machine busy |")
	require.False(t, (&runInfo{LoadStart: "0.95 3 3"}).busy(), "the 1-minute average decides")
}

func TestServerEnvironmentNeverPointsOutside(t *testing.T) {
	t.Parallel()
	env := serverEnvironment([]string{
		"PATH=/usr/bin", "RESEND_API_KEY=re_live", "MIXPANEL_TOKEN=live", "TYPESENSE_URL=https://ts.example.com",
		"DATABASE_URL=postgres://prod", "QUEUE_WORKERS=50", "DB_MAX_CONNS=20", "EMAIL_WORKERS=20", "RATE_LIMIT=300", "GOMAXPROCS=2",
	})
	for _, kv := range env {
		require.NotRegexp(t, regexp.MustCompile(`^(RESEND|MIXPANEL|TYPESENSE|DATABASE_URL)`), kv)
	}
	require.Contains(t, env, "QUEUE_WORKERS=50")
	require.Contains(t, env, "RATE_LIMIT=300", "the user's setting wins over the harness default")
	require.Equal(t, map[string]string{"QUEUE_WORKERS": "50", "DB_MAX_CONNS": "20", "RATE_LIMIT": "300", "GOMAXPROCS": "2", "ANALYTICS_BATCH_WAIT": "1s"},
		tuningOf(env), "the harness default ANALYTICS_BATCH_WAIT is tuning too, reported with the results; EMAIL_WORKERS is no server setting")
	require.Contains(t, serverEnvironment([]string{"PATH=/usr/bin"}), "RATE_LIMIT=0")

	// Every outside service's variables, the keys, the addresses and the
	// database are the harness's (deployment), whatever their number.
	outside := regexp.MustCompile(`^((RESEND|TWILIO|ONESIGNAL|TYPESENSE|MIXPANEL|ADMIN)_.*|.*_KEYS|.*ADDR|EMAIL_FROM|OPS_EMAIL|DATABASE_URL|DATA_DIR)$`)
	for name, s := range serverSettings {
		if outside.MatchString(name) {
			require.True(t, s.deployment, "%s is set or cleared by the harness", name)
		}
	}
}

// TestServerVariablesAreKnown: every server variable the harness names
// (its defaults, what startServer sets, the fakes' variables) is one the
// server reads, as its settings table says (serversettings_gen.go).
func TestServerVariablesAreKnown(t *testing.T) {
	t.Parallel()
	// NAME=value, or a NAME with an underscore (not "OK").
	envName := regexp.MustCompile(`^([A-Z][A-Z0-9_]*[A-Z0-9])=|^([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])$`)
	for _, file := range []string{"server.go", "fakes.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			if m := envName.FindStringSubmatch(v); m != nil {
				name := m[1] + m[2]
				_, known := serverSettings[name]
				require.True(t, known || slices.Contains(runtimeTuning, name),
					"%s names %s, which the server does not read (cmd/server/settings.go)", file, name)
			}
			return true
		})
	}
	for name := range serverDefaults {
		require.False(t, serverSettings[name].deployment, "%s: the harness clears the deployment variables", name)
	}
}

// The fakes must speak the wire format of the clients the server uses: each
// is driven through the real provider client.

func TestFakeMixpanelWithClient(t *testing.T) {
	t.Parallel()
	fake := providerfake.NewMixpanel(providerfake.Options{})
	t.Cleanup(fake.Close)
	sink, err := mixpanel.New(mixpanel.Opts{Token: providerfake.DefaultMixpanelToken, BaseURL: fake.URL})
	require.NoError(t, err)
	ev := analytics.Event{EventID: "e1", Name: "Page Viewed", UserID: "u1", Time: time.Now()}
	require.NoError(t, sink.Track(t.Context(), []analytics.Event{ev}))
	require.NoError(t, sink.Track(t.Context(), []analytics.Event{ev}), "a retry")
	require.NoError(t, sink.Track(t.Context(), []analytics.Event{{EventID: "e2", Name: "Page Viewed", Time: time.Now()}}))
	got := fake.Imported()
	require.Equal(t, providerfake.MixpanelCounts{Requests: 3, Events: 3, Distinct: 2, LastNew: got.LastNew, FirstNew: got.FirstNew, FirstN: 1}, got)
	require.False(t, got.FirstNew.After(got.LastNew))

	wrong, err := mixpanel.New(mixpanel.Opts{Token: "other", BaseURL: fake.URL})
	require.NoError(t, err)
	require.Error(t, wrong.Track(t.Context(), []analytics.Event{ev}))

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	require.True(t, waitDelivered(ctx, fake, 2))
}

func TestMixpanelDeliveryRate(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	c := providerfake.MixpanelCounts{Distinct: 6000, FirstN: 2000, FirstNew: t0, LastNew: t0.Add(500 * time.Millisecond)}
	require.InDelta(t, 8000, c.DeliveryRate(), 1e-6, "the events after the first request, over the time from it to the last")
	c.FirstN = c.Distinct
	require.True(t, math.IsNaN(c.DeliveryRate()), "one request: no rate")
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	// A command name with a space and a parenthesis, as a process may have.
	line := "4242 (post gres) x) S 4200 4242 4242 0 -1 4194560 500 0 0 0 250 130 7 3 20 0 1 0 1000 100000 200 18446744073709551615"
	ppid, self, children, err := parseStat(line)
	require.NoError(t, err)
	require.Equal(t, 4200, ppid)
	require.Equal(t, 3800*time.Millisecond, self, "utime 250 + stime 130 ticks of 10 ms")
	require.Equal(t, 100*time.Millisecond, children, "cutime 7 + cstime 3 ticks")
	_, _, _, err = parseStat("4242 (truncated")
	require.Error(t, err)

	own, err := processCPU(os.Getpid())
	require.NoError(t, err, "this process's own stat parses")
	require.GreaterOrEqual(t, own, time.Duration(0))
}

func TestFakeResendWithClient(t *testing.T) {
	t.Parallel()
	fake := providerfake.NewResend(providerfake.Options{})
	t.Cleanup(fake.Close)
	m, err := resend.New(resend.Opts{APIKey: providerfake.DefaultResendKey, From: "Bench <b@bench.invalid>", BaseURL: fake.URL})
	require.NoError(t, err)
	msg := notify.Email{To: "asha@example.com", Subject: "Order", HTML: "<p>hi</p>", Text: "hi", IdempotencyKey: "k1"}
	first, err := m.SendEmail(t.Context(), msg)
	require.NoError(t, err)
	again, err := m.SendEmail(t.Context(), msg)
	require.NoError(t, err)
	require.Equal(t, first.MessageID, again.MessageID, "the same idempotency key is one email")

	bad, err := resend.New(resend.Opts{APIKey: "re_wrong", From: "b@bench.invalid", BaseURL: fake.URL})
	require.NoError(t, err)
	_, err = bad.SendEmail(t.Context(), msg)
	require.Error(t, err)
}

func TestFakeTypesenseWithClient(t *testing.T) {
	t.Parallel()
	fake := providerfake.NewTypesense(providerfake.Options{})
	t.Cleanup(fake.Close)
	ix, err := typesense.New(typesense.Opts{URL: fake.URL, APIKey: providerfake.DefaultTypesenseKey})
	require.NoError(t, err)
	p := search.Product{ID: "p1", ShopID: "s1", Name: "Atta", PricePaise: 24900, Stock: 3}
	require.NoError(t, ix.UpsertProduct(t.Context(), p))
	p.Stock = 2
	require.NoError(t, ix.UpsertProduct(t.Context(), p))
	res, err := ix.SearchProducts(t.Context(), search.Query{Q: "atta", ShopID: "s1", Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, res.Found)
	require.Equal(t, 2, res.Hits[0].Stock)
	require.NoError(t, ix.DeleteProduct(t.Context(), "p1"))
	require.NoError(t, ix.UpsertShop(t.Context(), search.Shop{ID: "s1", Name: "Kirana"}))
}

func TestFakeDelay(t *testing.T) {
	t.Parallel()
	fake := providerfake.NewMixpanel(providerfake.Options{})
	t.Cleanup(fake.Close)
	sink, err := mixpanel.New(mixpanel.Opts{Token: providerfake.DefaultMixpanelToken, BaseURL: fake.URL})
	require.NoError(t, err)
	const delay = 200 * time.Millisecond
	fake.SetDelay(delay)
	start := time.Now()
	require.NoError(t, sink.Track(t.Context(), []analytics.Event{{EventID: "e", Name: "n", Time: time.Now()}}))
	require.GreaterOrEqual(t, time.Since(start), delay, "a slow fake answers after its delay")
	require.Equal(t, 1, fake.Imported().Distinct)
}

func TestSelectScenarios(t *testing.T) {
	t.Parallel()
	all := scenarios(newPlan(true, 3))
	names := func(re string) []string {
		var out []string
		for _, s := range selectScenarios(all, regexp.MustCompile(re)) {
			out = append(out, s.name)
		}
		return out
	}
	require.Equal(t, []string{scenarioRawRiver, scenarioPipeline}, names("^memory$"), "memory is measured by the pipeline, which needs the ceiling")
	require.Equal(t, []string{scenarioRawRiver, scenarioPipeline, "big tables"}, names("big"))
	require.Len(t, names(""), len(all))
}
