package reliability

import (
	"cmp"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/testserver"
)

// suite is the state every scenario shares: each scenario's line of
// figures, printed and written to results.md at the end. It is package
// state because TestMain owns it and the tests share it.
var suite struct { //nolint:gochecknoglobals
	mu      sync.Mutex
	results []result
}

// result is one scenario's outcome and figures.
type result struct {
	name    string
	passed  bool
	figures string
}

func TestMain(m *testing.M) {
	start := time.Now()
	code := testserver.Run(m, dbtest.Run)
	if err := report(time.Since(start)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// report prints a line per scenario and "N passed, M failed"; a full run
// also writes results.md.
func report(took time.Duration) error {
	suite.mu.Lock()
	defer suite.mu.Unlock()
	if len(suite.results) == 0 {
		return nil
	}
	// By scenario number ("10." after "9."), then name.
	number := func(name string) int {
		n, _ := strconv.Atoi(name[:strings.IndexByte(name+".", '.')])
		return n
	}
	slices.SortFunc(suite.results, func(a, b result) int {
		return cmp.Or(cmp.Compare(number(a.name), number(b.name)), strings.Compare(a.name, b.name))
	})
	var b strings.Builder
	passed, failed := 0, 0
	for _, r := range suite.results {
		mark := "PASS"
		if r.passed {
			passed++
		} else {
			failed++
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.name, mark, r.figures)
		fmt.Printf("%s %s: %s\n", mark, r.name, r.figures)
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	fmt.Println(summary)
	if !fullRun {
		return nil
	}
	md := "# Reliability results\n\n" +
		"Written by `make reliability` (`go test -tags reliability ./reliability/`); what each scenario\n" +
		"checks is in docs/guarantees.md and in `reliability/*_test.go`.\n\n" +
		fmt.Sprintf("Run at %s on %d CPUs, %s, in %s.\n\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.Version(), took.Round(time.Second)) +
		"| scenario | result | figures |\n|---|---|---|\n" + b.String() + "\n**" + summary + "**\n"
	if err := os.WriteFile("results.md", []byte(md), 0o644); err != nil { //nolint:gosec // a report
		return fmt.Errorf("write results.md: %w", err)
	}
	return nil
}

// record adds the scenario's line when the test ends: passed unless the
// test failed. figures is read at the end, so a scenario fills it as it goes.
func record(t *testing.T, name string, figures *string) {
	t.Helper()
	t.Cleanup(func() {
		suite.mu.Lock()
		defer suite.mu.Unlock()
		suite.results = append(suite.results, result{name: name, passed: !t.Failed(), figures: *figures})
	})
}
