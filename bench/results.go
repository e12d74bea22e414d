package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Result values of a figure.
const (
	statusPass     = "PASS"
	statusFail     = "FAIL"
	statusRecorded = "recorded"
	statusNA       = "n/a"
	// statusBusy replaces PASS and FAIL when the machine's load average
	// was above maxJudgedLoad at the start: other work took CPU from the
	// measured processes, so the figures say nothing about the targets.
	statusBusy = "machine busy"
)

// target is what a figure must reach: its value (or, with ratio, its value
// divided by its baseline) compared with op to value.
type target struct {
	// Op is ">=" or "<=".
	Op string `json:"op"`
	// Value is the bound.
	Value float64 `json:"value"`
	// Ratio compares the ratio to the baseline instead of the figure itself.
	Ratio bool `json:"ratio,omitempty"`
}

// String renders the target as the report shows it.
func (t *target) String() string {
	if t == nil {
		return "—"
	}
	op := map[string]string{">=": "≥", "<=": "≤"}[t.Op]
	if t.Ratio {
		return fmt.Sprintf("%s %s × baseline", op, trimFloat(t.Value, 2))
	}
	return fmt.Sprintf("%s %s", op, trimFloat(t.Value, 2))
}

// met reports whether v satisfies the target.
func (t *target) met(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if t.Op == "<=" {
		return v <= t.Value
	}
	return v >= t.Value
}

// atLeast and atMost are targets on a figure's value; ratioAtLeast and
// ratioAtMost on its ratio to the baseline.
func atLeast(v float64) *target      { return &target{Op: ">=", Value: v} }
func atMost(v float64) *target       { return &target{Op: "<=", Value: v} }
func ratioAtLeast(v float64) *target { return &target{Op: ">=", Value: v, Ratio: true} }
func ratioAtMost(v float64) *target  { return &target{Op: "<=", Value: v, Ratio: true} }

// figureSpec names one figure of a scenario and says how it is judged.
type figureSpec struct {
	Scenario string
	Name     string
	Unit     string
	Target   *target
	// Baseline says what the ratio is taken against: either values passed
	// with each repeat (addPaired), or BaselineRef, another figure of the
	// same run ("scenario/figure"), whose median is used.
	Baseline    string
	BaselineRef string
}

// key identifies a figure: "scenario/figure".
func (s figureSpec) key() string { return s.Scenario + "/" + s.Name }

// figure is one measured quantity of a scenario, with one value per repeat.
type figure struct {
	Spec      figureSpec `json:"-"`
	Scenario  string     `json:"scenario"`
	Name      string     `json:"figure"`
	Unit      string     `json:"unit"`
	Values    []float64  `json:"values"`
	Spread    spread     `json:"spread"`
	Baseline  *baseline  `json:"baseline,omitempty"`
	Ratio     *spread    `json:"ratio,omitempty"`
	Target    *target    `json:"target,omitempty"`
	TargetTxt string     `json:"targetText"`
	Status    string     `json:"status"`
	Notes     []string   `json:"notes,omitempty"`
	// Failures are reasons the figure fails whatever its values (a
	// pipeline that did not drain, a scenario that could not run).
	Failures []string `json:"failures,omitempty"`
}

// baseline is what a figure's ratio is taken against.
type baseline struct {
	Name   string    `json:"name"`
	Ref    string    `json:"ref,omitempty"`
	Values []float64 `json:"values"`
	Spread spread    `json:"spread"`
}

// results collects every figure of a run, in the order first recorded.
// It is safe for concurrent use.
type results struct {
	mu      sync.Mutex
	figures []*figure
	byKey   map[string]*figure
}

func newResults() *results { return &results{byKey: make(map[string]*figure)} }

// get returns the figure for spec, creating it on first use.
func (r *results) get(spec figureSpec) *figure {
	f, ok := r.byKey[spec.key()]
	if !ok {
		f = &figure{Spec: spec, Scenario: spec.Scenario, Name: spec.Name, Unit: spec.Unit, Target: spec.Target}
		if spec.Baseline != "" || spec.BaselineRef != "" {
			f.Baseline = &baseline{Name: spec.Baseline, Ref: spec.BaselineRef}
		}
		r.byKey[spec.key()] = f
		r.figures = append(r.figures, f)
	}
	return f
}

// declare makes the figure appear in the report even if no repeat records
// a value for it.
func (r *results) declare(spec figureSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.get(spec)
}

// add records one repeat's value. A NaN value (nothing to measure) is
// recorded as a note instead.
func (r *results) add(spec figureSpec, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.get(spec)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		f.Notes = append(f.Notes, fmt.Sprintf("repeat %d: nothing to measure", len(f.Values)+1))
		return
	}
	f.Values = append(f.Values, round3(v))
}

// round3 rounds v to three decimals: finer digits are noise.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// addPaired records one repeat's value with the baseline measured in the
// same repeat.
func (r *results) addPaired(spec figureSpec, v, base float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.get(spec)
	if math.IsNaN(v) || math.IsNaN(base) {
		f.Notes = append(f.Notes, fmt.Sprintf("repeat %d: nothing to measure", len(f.Values)+1))
		return
	}
	f.Values = append(f.Values, round3(v))
	f.Baseline.Values = append(f.Baseline.Values, round3(base))
}

// fail makes the figure FAIL, whatever its values, for reason.
func (r *results) fail(spec figureSpec, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.get(spec)
	reason = oneLine(reason)
	if !slices.Contains(f.Failures, reason) {
		f.Failures = append(f.Failures, reason)
	}
}

// note adds an explanation to the figure.
func (r *results) note(spec figureSpec, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.get(spec)
	text = oneLine(text)
	if !slices.Contains(f.Notes, text) {
		f.Notes = append(f.Notes, text)
	}
}

// oneLine joins the lines of s (a server log tail, say) with " ⏎ ", so that
// it fits one line of the report.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", " ⏎ ")), " ")
}

// finish computes every figure's spread, ratio and status, and returns the
// figures in recording order. On a busy machine no figure is judged
// against its target (a failure to run is still a FAIL).
func (r *results) finish(busy bool) []*figure {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.figures {
		f.Spread = spreadOf(f.Values)
		f.TargetTxt = f.Target.String()
		if f.Baseline != nil {
			if ref, ok := r.byKey[f.Baseline.Ref]; ok && f.Baseline.Ref != "" {
				f.Baseline.Values = slices.Clone(ref.Values)
				if f.Baseline.Name == "" {
					f.Baseline.Name = ref.Scenario + ": " + ref.Name
				}
			}
			f.Baseline.Spread = spreadOf(f.Baseline.Values)
			f.Ratio = ratioOf(f.Values, f.Baseline.Values, f.Baseline.Ref != "")
		}
		f.Status = judge(f)
		if busy && f.Target != nil && len(f.Failures) == 0 && (f.Status == statusPass || f.Status == statusFail) {
			f.Status = statusBusy
		}
	}
	return slices.Clone(r.figures)
}

// ratioOf divides values by their baseline: repeat by repeat when they are
// paired, otherwise by the baseline's median. nil when either is empty.
func ratioOf(values, base []float64, byMedian bool) *spread {
	if len(values) == 0 || len(base) == 0 {
		return nil
	}
	ratios := make([]float64, 0, len(values))
	if byMedian || len(base) != len(values) {
		m := median(base)
		for _, v := range values {
			ratios = append(ratios, v/m)
		}
	} else {
		for i, v := range values {
			ratios = append(ratios, v/base[i])
		}
	}
	s := spreadOf(ratios)
	return &s
}

// judge decides a figure's status: FAIL when a failure was recorded or the
// median (of the values, or of the ratios) misses the target; recorded when
// there is no target; n/a when its baseline was not measured.
func judge(f *figure) string {
	if len(f.Failures) > 0 {
		return statusFail
	}
	if f.Target == nil {
		return statusRecorded
	}
	if len(f.Values) == 0 {
		f.Failures = append(f.Failures, "no value was measured")
		return statusFail
	}
	v := f.Spread.Median
	if f.Target.Ratio {
		if f.Ratio == nil {
			return statusNA
		}
		v = f.Ratio.Median
	}
	if f.Target.met(v) {
		return statusPass
	}
	return statusFail
}
