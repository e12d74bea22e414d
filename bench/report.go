package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runInfo describes a run: how it was made and on what.
type runInfo struct {
	Label    string   `json:"label"` // "quick" or "full"
	Started  string   `json:"started"`
	Duration string   `json:"duration"`
	Command  string   `json:"command"`
	Repeats  int      `json:"repeats"`
	Plan     planInfo `json:"plan"`

	Machine machineInfo `json:"machine"`
	// LoadStart and LoadEnd are the machine's 1, 5 and 15-minute load
	// averages when the run started and ended: other work on the machine
	// takes CPU from the measured processes.
	LoadStart string            `json:"loadAverageStart"`
	LoadEnd   string            `json:"loadAverageEnd"`
	Go        string            `json:"go"`
	River     string            `json:"river"`
	Postgres  string            `json:"postgres"`
	Database  string            `json:"database"`
	Settings  map[string]string `json:"postgresSettings"`
	// ServerTuning are the tuning variables of the environment the server
	// processes inherited (unset: the server's defaults).
	ServerTuning map[string]string `json:"serverTuning"`
}

// planInfo is the plan in the units the report shows.
type planInfo struct {
	OutboxMeasurement string  `json:"outboxMeasurement"`
	RawJobs           int     `json:"rawJobs"`
	LoadPhase         string  `json:"loadPhase"`
	FixedRate         float64 `json:"fixedRate"`
	DrainOrders       int     `json:"drainOrders"`
	AnalyticsEvents   int     `json:"analyticsEvents"`
	SlowPhase         string  `json:"slowPhase"`
	SlowDelay         string  `json:"slowDelay"`
	PickupPhase       string  `json:"pickupPhase"`
	BigRows           int     `json:"bigRows"`
	DrainTimeout      string  `json:"drainTimeout"`
}

// machineInfo is the hardware the run measured.
type machineInfo struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	RAM   string `json:"ram"`
}

// collectRunInfo gathers the machine, versions and settings of the run.
func collectRunInfo(ctx context.Context, b *bench, opts options, selected []*scenario) (runInfo, error) {
	p := b.plan
	info := runInfo{
		Label: "full", Started: time.Now().UTC().Format(time.RFC3339), Repeats: p.Repeats,
		Command: "go run ./bench " + strings.Join(os.Args[1:], " "),
		Plan: planInfo{
			OutboxMeasurement: p.OutboxDuration.String(), RawJobs: p.RawJobs, LoadPhase: p.PipelineLoad.String(),
			FixedRate: p.FixedRate, DrainOrders: p.DrainOrders, AnalyticsEvents: p.AnalyticsEvents, SlowPhase: p.SlowPhase.String(),
			SlowDelay: p.SlowDelay.String(), PickupPhase: p.PickupLoad.String(), BigRows: p.BigRows,
			DrainTimeout: p.DrainTimeout.String(),
		},
		Machine:      machine(),
		LoadStart:    loadAverage(),
		Go:           runtime.Version(),
		River:        moduleVersion("github.com/riverqueue/river"),
		Database:     b.dbs.source(),
		ServerTuning: tuningOf(b.serverEnv),
	}
	if p.Quick {
		info.Label = "quick"
	}
	if opts.only.String() != "" {
		names := make([]string, len(selected))
		for i, s := range selected {
			names[i] = s.name
		}
		info.Label += " (only: " + strings.Join(names, ", ") + ")"
	}
	var err error
	info.Postgres, info.Settings, err = b.dbs.serverInfo(ctx)
	return info, err
}

// machine reads the CPU model and RAM from /proc (Linux); elsewhere they
// are "unknown".
func machine() machineInfo {
	m := machineInfo{CPU: "unknown", Cores: runtime.NumCPU(), RAM: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.RAM = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return m
}

// maxJudgedLoad is the highest 1-minute load average at the start of a run
// whose figures are judged against their targets: above it, other work
// shares the two cores with the measured processes.
const maxJudgedLoad = 1.0

// busy reports whether the run started on a busy machine: a 1-minute load
// average above maxJudgedLoad, or one that could not be read.
func (in runInfo) busy() bool {
	load, ok := load1(in.LoadStart)
	return !ok || load > maxJudgedLoad
}

// load1 returns the 1-minute load average of a loadAverage string.
func load1(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// waitForIdle waits up to max for the 1-minute load average to be at most
// maxJudgedLoad, and returns the last one read and whether it got there.
func waitForIdle(ctx context.Context, max time.Duration, progress func(string, ...any)) (float64, bool) {
	deadline := time.Now().Add(max)
	said := false
	for {
		load, ok := load1(loadAverage())
		if !ok || load <= maxJudgedLoad {
			return load, ok
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return load, false
		}
		if !said {
			progress("Waiting up to %s for the load average (%.2f) to fall to %.1f before measuring", max, load, maxJudgedLoad)
			said = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// loadAverage returns the 1, 5 and 15-minute load averages from
// /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// procField returns the value of the first "name: value" line of a /proc
// file, or "".
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// moduleVersion is the version of module path this program was built with.
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Version + " => " + d.Replace.Path + " " + d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}

// scenarioInfo is how one scenario measures, for the report.
type scenarioInfo struct {
	Name string `json:"name"`
	How  string `json:"how"`
}

func describeScenarios(selected []*scenario) []scenarioInfo {
	out := make([]scenarioInfo, len(selected))
	for i, s := range selected {
		out[i] = scenarioInfo{Name: s.name, How: s.how}
	}
	return out
}

// report is everything a run writes.
type report struct {
	Info      runInfo        `json:"run"`
	Scenarios []scenarioInfo `json:"scenarios"`
	Figures   []*figure      `json:"figures"`
}

// anyFailed reports whether a figure failed.
func (r *report) anyFailed() bool {
	return slices.ContainsFunc(r.Figures, func(f *figure) bool { return f.Status == statusFail })
}

// write writes results.md and results.json into dir.
func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.jsonSafe()); err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), js.Bytes(), 0o644); err != nil { //nolint:gosec // a report
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.markdown()), 0o644); err != nil { //nolint:gosec // a report
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// jsonSafe returns a copy of r whose NaNs (which JSON cannot hold) are
// replaced: spreads of nothing become zero-valued and flagged by an empty
// values list.
func (r *report) jsonSafe() *report {
	out := *r
	out.Figures = make([]*figure, len(r.Figures))
	for i, f := range r.Figures {
		c := *f
		c.Spread = finite(c.Spread)
		if c.Ratio != nil {
			r := finite(*c.Ratio)
			c.Ratio = &r
		}
		if c.Baseline != nil {
			b := *c.Baseline
			b.Spread = finite(b.Spread)
			c.Baseline = &b
		}
		if c.Values == nil {
			c.Values = []float64{}
		}
		out.Figures[i] = &c
	}
	return &out
}

func finite(s spread) spread {
	z := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	return spread{Min: z(s.Min), Median: z(s.Median), Max: z(s.Max)}
}

// markdown renders the whole report.
func (r *report) markdown() string {
	var sb strings.Builder
	in := r.Info
	title := "Benchmark results"
	if strings.HasPrefix(in.Label, "quick") {
		title += " — QUICK run"
	}
	fmt.Fprintf(&sb, "# %s\n\n", title)
	if strings.HasPrefix(in.Label, "quick") {
		sb.WriteString("> **Quick run** (`make bench-quick`): loads of seconds instead of a minute and small data sets, " +
			"each scenario still repeated. The figures show whether the harness works and roughly where the " +
			"system stands; use `make bench` for figures to compare with the targets.\n\n")
	}
	fmt.Fprintf(&sb, "Generated by `%s`: run %s, started %s, took %s, %d repeats per scenario.\n\n",
		strings.TrimSpace(in.Command), in.Label, in.Started, in.Duration, in.Repeats)
	if in.busy() {
		fmt.Fprintf(&sb, "> **Machine busy**: the 1-minute load average was %s at the start, above %.1f: other work shared the "+
			"cores with the measured processes, so no figure is judged against its target (they are marked %q). "+
			"Run `make bench` again on an idle machine.\n\n", strings.Fields(in.LoadStart + " unknown")[0], maxJudgedLoad, statusBusy)
	}
	sb.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&sb, "| machine | %s, %d cores, %s RAM |\n", in.Machine.CPU, in.Machine.Cores, in.Machine.RAM)
	fmt.Fprintf(&sb, "| load average (1, 5, 15 min) | %s at the start, %s at the end (other work on the machine takes CPU from the measured processes) |\n",
		in.LoadStart, in.LoadEnd)
	fmt.Fprintf(&sb, "| Go | %s |\n| River | %s |\n| PostgreSQL | %s — %s |\n", in.Go, in.River, in.Postgres, in.Database)
	fmt.Fprintf(&sb, "| PostgreSQL settings | %s |\n", joinMap(in.Settings))
	tuning := joinMap(in.ServerTuning)
	if tuning == "" {
		tuning = "server defaults (none of DB_*, QUEUE_*, *_WORKERS, RATE_*, … set), except RATE_LIMIT=0"
	}
	fmt.Fprintf(&sb, "| server tuning (from the environment) | %s |\n", tuning)
	pl := in.Plan
	fmt.Fprintf(&sb, "| sizes | outbox %s per measurement; raw River %d jobs; order drain %d orders; order loads %s; %g orders/s fixed; "+
		"%d analytics events; slow phases %s (delay %s); pickup %s; big tables %d past orders; drain timeout %s |\n\n",
		pl.OutboxMeasurement, pl.RawJobs, pl.DrainOrders, pl.LoadPhase, pl.FixedRate, pl.AnalyticsEvents, pl.SlowPhase, pl.SlowDelay,
		pl.PickupPhase, pl.BigRows, pl.DrainTimeout)

	sb.WriteString("## Results\n\n")
	sb.WriteString("min / median / max over the repeats. Ratio: the figure over its baseline, measured in the same run " +
		"(median, min–max). PASS/FAIL judges the median.\n\n")
	sb.WriteString(r.table())

	var notes []string
	for _, f := range r.Figures {
		for _, n := range f.Failures {
			notes = append(notes, fmt.Sprintf("- **%s — %s**: FAIL: %s", f.Scenario, f.Name, n))
		}
		for _, n := range f.Notes {
			notes = append(notes, fmt.Sprintf("- %s — %s: %s", f.Scenario, f.Name, n))
		}
	}
	if len(notes) > 0 {
		sb.WriteString("\n## Notes\n\n" + strings.Join(notes, "\n") + "\n")
	}
	sb.WriteString("\n## How each scenario measures\n\n")
	for _, s := range r.Scenarios {
		fmt.Fprintf(&sb, "- **%s**: %s\n", s.Name, s.How)
	}
	return sb.String()
}

// table renders the results table.
func (r *report) table() string {
	var sb strings.Builder
	sb.WriteString("| scenario | figure | min / median / max | baseline (median) | ratio | target | result |\n")
	sb.WriteString("|---|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		values := "—"
		if len(f.Values) > 0 {
			values = fmt.Sprintf("%s / %s / %s %s", num(f.Spread.Min), num(f.Spread.Median), num(f.Spread.Max), f.Unit)
		}
		base, ratio := "—", "—"
		if f.Baseline != nil {
			base = f.Baseline.Name
			if len(f.Baseline.Values) > 0 {
				base = fmt.Sprintf("%s %s (%s)", num(f.Baseline.Spread.Median), f.Unit, f.Baseline.Name)
			} else {
				base += ": not measured"
			}
		}
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%s (%s–%s)", trimFloat(f.Ratio.Median, 2), trimFloat(f.Ratio.Min, 2), trimFloat(f.Ratio.Max, 2))
		}
		target := f.TargetTxt
		if f.Target != nil && !f.Target.Ratio {
			target += " " + f.Unit
		}
		result := f.Status
		if f.Status == statusFail {
			result = "**FAIL**"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", f.Scenario, f.Name, values, base, ratio, target, result)
	}
	return sb.String()
}

// num formats a measured value with about three significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case a >= 10:
		return trimFloat(v, 1)
	default:
		return trimFloat(v, 2)
	}
}

// trimFloat formats v with at most prec decimals, dropping trailing zeros.
func trimFloat(v float64, prec int) string {
	if math.IsNaN(v) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// joinMap renders "k=v, k=v" in key order.
func joinMap(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}
