package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// readmeBlock is one fenced code block of README.md or of a docs/*.md file.
type readmeBlock struct {
	// file is the file holding the block, relative to the repository's
	// root: "README.md", "docs/http-api.md".
	file string
	// line is the file's line of the block's first line of code.
	line int
	// lang is the fence's language: "sh", "bash" or "sql".
	lang string
	// code is the block's text, without the fence's indentation.
	code string
	// skip is the reason given by a <!-- readme-test: skip: REASON -->
	// comment on the line before the fence; empty: the block is run.
	skip string
}

var (
	// readmeFence opens or closes a fenced code block, possibly indented (in
	// a list item).
	readmeFence = regexp.MustCompile("^( *)```(\\w*)\\s*$")
	// readmeMarker is the comment that keeps the next block out of the test.
	readmeMarker = regexp.MustCompile(`^\s*<!-- readme-test: skip: (\S.*?) -->\s*$`)
)

// readmeBlocks returns the shell (sh, bash) and SQL blocks of file, whose
// text is readme, in order. A line that mentions readme-test but is not a
// well-formed marker directly before a shell or SQL block is an error, so a
// misspelt marker cannot skip or run a block by accident.
func readmeBlocks(file, readme string) ([]readmeBlock, error) {
	lines := strings.Split(readme, "\n")
	var blocks []readmeBlock
	for i := 0; i < len(lines); i++ {
		if strings.Contains(lines[i], "readme-test:") && strings.HasPrefix(strings.TrimSpace(lines[i]), "<!--") {
			m := readmeMarker.FindStringSubmatch(lines[i])
			next := ""
			if i+1 < len(lines) {
				next = lines[i+1]
			}
			f := readmeFence.FindStringSubmatch(next)
			if m == nil || f == nil || !runnableLang(f[2]) {
				return nil, fmt.Errorf("%s:%d: a readme-test marker is `<!-- readme-test: skip: REASON -->` on the line before a sh, bash or sql block", file, i+1)
			}
			continue
		}
		f := readmeFence.FindStringSubmatch(lines[i])
		if f == nil {
			continue
		}
		indent, lang, start := f[1], f[2], i
		var code []string
		for i++; i < len(lines) && strings.TrimRight(lines[i], " ") != indent+"```"; i++ {
			code = append(code, strings.TrimPrefix(lines[i], indent))
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s:%d: the code block is never closed", file, start+1)
		}
		if !runnableLang(lang) {
			continue
		}
		b := readmeBlock{file: file, line: start + 2, lang: lang, code: strings.Join(code, "\n")}
		if start > 0 {
			if m := readmeMarker.FindStringSubmatch(lines[start-1]); m != nil {
				b.skip = m[1]
			}
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// runnableLang reports whether a fence's language is one the test runs.
func runnableLang(lang string) bool {
	return lang == "sh" || lang == "bash" || lang == "sql"
}

// docFiles returns the files whose examples run, relative to the
// repository's root, in the order they run: README.md, then every
// docs/*.md file sorted by name.
func docFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	require.NoError(t, err)
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, filepath.ToSlash(filepath.Join("docs", filepath.Base(d))))
	}
	sort.Strings(files[1:])
	return files
}

// docBlocks returns the shell and SQL blocks of every file docFiles names,
// in the order they run: file by file, each file's blocks in order.
func docBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	var blocks []readmeBlock
	for _, file := range docFiles(t) {
		text, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(file)))
		require.NoError(t, err)
		fileBlocks, err := readmeBlocks(file, string(text))
		require.NoError(t, err)
		blocks = append(blocks, fileBlocks...)
	}
	return blocks
}

// readmeScript is one bash script that runs blocks in order, with
// localhost:8080 replaced by hostPort, SQL blocks through psql on the
// database's URL. It stops at the first failing command (errexit,
// pipefail) and traces each command with its file and line.
func readmeScript(blocks []readmeBlock, hostPort string) string {
	var b strings.Builder
	b.WriteString("set -eEo pipefail\n")
	b.WriteString("__file=README.md __off=0\n")
	b.WriteString(`PS4='+ $__file:$((LINENO + __off)): '` + "\n")
	b.WriteString(`trap '__rc=$?; echo "$__file:$((LINENO + __off)): exit status $__rc" >&2' ERR` + "\n")
	b.WriteString("set -x\n")
	line := 5 // lines written so far
	for _, blk := range blocks {
		if blk.skip != "" {
			continue
		}
		code := strings.ReplaceAll(blk.code, "localhost:8080", hostPort)
		if blk.lang == "sql" {
			// What `make psql` opens, reading the block.
			fmt.Fprintf(&b, "__file='%s' __off=%d\n", blk.file, blk.line-(line+2))
			b.WriteString(`psql -X -q -v ON_ERROR_STOP=1 "$(bin/server db-url)" <<'README_SQL'` + "\n")
			b.WriteString(code + "\nREADME_SQL\n")
			line += 3 + strings.Count(code, "\n") + 1
			continue
		}
		fmt.Fprintf(&b, "__file='%s' __off=%d\n", blk.file, blk.line-(line+2))
		b.WriteString(code + "\n")
		line += 1 + strings.Count(code, "\n") + 1
	}
	return b.String()
}

// TestReadmeBlocks checks how readmeBlocks reads fences and markers.
func TestReadmeBlocks(t *testing.T) {
	t.Parallel()
	blocks, err := readmeBlocks("docs/x.md", "text\n```sh\necho a\n```\n<!-- readme-test: skip: starts the server -->\n```bash\nmake run\n```\n"+
		"- item\n\n  ```sql\n  SELECT 1;\n  ```\n```go\nx := 1\n```\n")
	require.NoError(t, err)
	require.Equal(t, []readmeBlock{
		{file: "docs/x.md", line: 3, lang: "sh", code: "echo a"},
		{file: "docs/x.md", line: 7, lang: "bash", code: "make run", skip: "starts the server"},
		{file: "docs/x.md", line: 12, lang: "sql", code: "SELECT 1;"},
	}, blocks)

	for _, bad := range []string{
		"<!-- readme-test: skip -->\n```sh\nx\n```\n",        // no reason
		"<!-- readme-test: skip: why -->\n\n```sh\nx\n```\n", // not right before
		"<!-- readme-test: skip: why -->\n```go\nx\n```\n",   // not a block the test runs
		"<!-- readme-test: skipp: why -->\n```sh\nx\n```\n",  // misspelt
		"```sh\nx\n", // never closed
	} {
		_, err := readmeBlocks("docs/x.md", bad)
		require.Error(t, err, "%q", bad)
		require.ErrorContains(t, err, "docs/x.md:", "%q", bad)
	}
}

// readmeEventID finds the id of an event sent in an example's body.
var readmeEventID = regexp.MustCompile(`"name":"[^"]+","id":"([^"]+)"`)

// TestReadmeEventIDsOnce checks that the examples TestReadmeExamples runs
// (README.md's, then docs/*.md's) send each event id once. The event API
// stores an id once and answers a second send of it, whatever its data, as
// if it were new, so an example that reuses an id would do nothing, and say
// nothing.
func TestReadmeEventIDsOnce(t *testing.T) {
	t.Parallel()
	sent := map[string]string{} // event id → file:line of its first send
	for _, b := range docBlocks(t) {
		if b.skip != "" || b.lang == "sql" {
			continue
		}
		for i, line := range strings.Split(b.code, "\n") {
			for _, m := range readmeEventID.FindAllStringSubmatch(line, -1) {
				at := fmt.Sprintf("%s:%d", b.file, b.line+i)
				if first, ok := sent[m[1]]; ok {
					t.Errorf("%s sends event id %q again (first sent at %s): the server deduplicates it", at, m[1], first)
					continue
				}
				sent[m[1]] = at
			}
		}
	}
	require.NotEmpty(t, sent, "no event id found in the examples")
}

// TestReadmeExamples runs the shell and SQL examples of README.md and then
// of each docs/*.md file (sorted by name) as written, in order, in one
// shell, as a newcomer would from the checkout's root in a second terminal:
// against the built server started as `make run` starts it (development,
// no keys, no admin credentials) on a fresh database given as
// DATABASE_URL. Blocks marked <!-- readme-test: skip: REASON --> are left
// out (they start a server, build images, change the schema). The script
// runs in a directory holding bin/server (the binary `make run` builds),
// with curl failing on HTTP errors (a .curlrc with --fail-with-body) and
// localhost:8080 replaced by the server's address. Any failing command
// fails the test; then, once every job the examples enqueued is finished,
// no job may have failed, be retrying, or have been discarded or
// cancelled.
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	var missing []string
	for _, tool := range []string{"bash", "curl", "jq", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("the README's examples need %s, not found on PATH", strings.Join(missing, ", "))
	}
	blocks := docBlocks(t)
	ran := map[string]int{}
	files := map[string]int{} // file → blocks run
	for _, b := range blocks {
		if b.skip == "" {
			ran[b.lang]++
			files[b.file]++
		}
	}
	require.NotZero(t, files["README.md"], "no block of README.md to run")
	require.NotZero(t, ran["sh"]+ran["bash"], "no shell block to run")
	require.NotZero(t, ran["sql"], "no SQL block to run")

	// As `make run` with DATABASE_URL set: development defaults, migrations
	// at start; only the port is the test's.
	s := startServerEnv(t, dbtest.NewURL(t.Context(), t), []string{"ADDR=127.0.0.1:0"})

	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "bin"), 0o755))
	require.NoError(t, os.Symlink(buildServer(t), filepath.Join(dir, "bin", "server")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".curlrc"), []byte("fail-with-body\nshow-error\nmax-time = 60\n"), 0o600))
	script := filepath.Join(dir, "readme.sh")
	require.NoError(t, os.WriteFile(script, []byte(readmeScript(blocks, strings.TrimPrefix(s.base, "http://"))), 0o600))

	ctx, cancel := context.WithTimeout(t.Context(), hungAfter)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CURL_HOME=" + dir, "DATABASE_URL=" + s.dbURL}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the examples of README.md and docs/*.md failed (%v); their trace:\n%s", ran, out)
	t.Logf("ran %d sh, %d bash and %d SQL blocks, by file: %v", ran["sh"], ran["bash"], ran["sql"], files)

	// Wait until every job the examples enqueued is finished. The server is
	// another process and tells the test nothing, so the test polls;
	// hungAfter only ends a run whose jobs never finish (a parked job, a
	// stuck worker).
	var last int64
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM river_job").Scan(&last))
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := queryStrings(ctx, t, s, "SELECT id || ' ' || kind || ' ' || state || ' until ' || scheduled_at FROM river_job WHERE id <= $1 AND finalized_at IS NULL ORDER BY id", last)
		if len(pending) == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the examples' jobs did not finish within %s:\n%s", hungAfter, strings.Join(pending, "\n"))
		}
	}

	failed := queryStrings(ctx, t, s, `SELECT id || ' ' || kind || ' ' || state || ': ' || coalesce(errors[array_length(errors, 1)]->>'error', '')
		FROM river_job WHERE state IN ('discarded', 'cancelled', 'retryable') OR coalesce(array_length(errors, 1), 0) > 0 ORDER BY id`)
	require.Empty(t, failed, "the examples of README.md and docs/*.md left failed jobs")
}

// queryStrings runs a query of one text column on s's database.
func queryStrings(ctx context.Context, t *testing.T, s *runningServer, sql string, args ...any) []string {
	t.Helper()
	rows, err := s.pool.Query(ctx, sql, args...)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}
