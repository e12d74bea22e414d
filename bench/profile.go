package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/jackc/pgx/v5"
)

// profiler writes -profile's files into dir, per scenario: the CPU profile
// of every server process it started (CPU_PROFILE) and of the bench process
// itself (the in-process scenarios run there), each with its `go tool pprof
// -top` summary, and the scenario's ten most expensive statements by total
// time from pg_stat_statements (on the private cluster, which then loads
// it).
type profiler struct {
	dir       string
	dbs       *databases // pg_stat_statements is read (and reset) in its admin database
	serverBin string
	scenario  string // the scenario being profiled
	files     []string
}

// slug returns s in lower case with every run of other characters than
// letters and digits made one '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// begin starts profiling scenario: it resets pg_stat_statements and starts
// the bench process's CPU profile. The returned end writes the files.
func (p *profiler) begin(ctx context.Context, scenario string) (end func(ctx context.Context) error, err error) {
	p.scenario, p.files = slug(scenario), nil
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := p.dbs.exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		return nil, fmt.Errorf("profile: reset pg_stat_statements: %w", err)
	}
	benchProfile := filepath.Join(p.dir, p.scenario+"-bench.pprof")
	f, err := os.Create(benchProfile)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("profile: %w", err)
	}
	return func(ctx context.Context) error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		if err := p.writeStatements(ctx); err != nil {
			return err
		}
		for _, path := range append([]string{benchProfile}, p.files...) {
			bin := p.serverBin
			if path == benchProfile {
				bin = ""
			}
			if err := summarize(ctx, bin, path); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// serverProfile returns the CPU_PROFILE path for a server process named
// name of the scenario being profiled.
func (p *profiler) serverProfile(name string) string {
	path := filepath.Join(p.dir, p.scenario+"-server-"+slug(name)+".pprof")
	p.files = append(p.files, path)
	return path
}

// summarize writes `go tool pprof -top` of the profile at path next to
// it (.top.txt). bin is the profiled binary, "" for this process.
func summarize(ctx context.Context, bin, path string) error {
	args := []string{"tool", "pprof", "-top", "-nodecount=25"}
	if bin != "" {
		args = append(args, bin)
	}
	out, err := exec.CommandContext(ctx, "go", append(args, path)...).CombinedOutput()
	if err != nil {
		if _, statErr := os.Stat(path); statErr != nil {
			return nil // the process never started or wrote no profile
		}
		return fmt.Errorf("profile: go tool pprof %s: %w: %s", path, err, out)
	}
	return os.WriteFile(strings.TrimSuffix(path, ".pprof")+".top.txt", out, 0o644)
}

// writeStatements writes the ten statements that took the most time since
// begin, with their share of all statement time, as a Markdown table.
func (p *profiler) writeStatements(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.dbs.adminURL)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
		WITH s AS ( -- one row per statement, over the repeats' databases
			SELECT regexp_replace(left(query, 160), '\s+', ' ', 'g') AS query, sum(calls) AS calls,
			       sum(total_exec_time) AS total, sum(rows) AS rows
			FROM pg_stat_statements GROUP BY 1
		)
		SELECT query, calls::bigint, total, total / greatest(calls, 1), rows::bigint,
		       100 * total / greatest(sum(total) OVER (), 1e-9)
		FROM s ORDER BY total DESC LIMIT 10`)
	if err != nil {
		return fmt.Errorf("profile: read pg_stat_statements: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: the ten statements that took the most time\n\n", p.scenario)
	b.WriteString("From pg_stat_statements, reset when the scenario started: every repeat (each on its own database, summed), the harness's own queries included.\n\n")
	b.WriteString("| statement | calls | total ms | ms per call | rows | share of all statement time |\n|---|---|---|---|---|---|\n")
	for rows.Next() {
		var (
			query              string
			calls, nrows       int64
			total, mean, share float64
		)
		if err := rows.Scan(&query, &calls, &total, &mean, &nrows, &share); err != nil {
			return fmt.Errorf("profile: read pg_stat_statements: %w", err)
		}
		query = strings.ReplaceAll(query, "|", `\|`)
		fmt.Fprintf(&b, "| `%s` | %d | %.0f | %.3f | %d | %.1f %% |\n", query, calls, total, mean, nrows, share)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("profile: read pg_stat_statements: %w", err)
	}
	return os.WriteFile(filepath.Join(p.dir, p.scenario+"-statements.md"), []byte(b.String()), 0o644)
}
