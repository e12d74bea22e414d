package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/testserver"
)

// TestHelp: `server help`, -h and --help list every command, one line each,
// and need no configuration (production without its secrets).
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"help", "-h", "-help", "--help"} {
		var out bytes.Buffer
		require.NoError(t, run(t.Context(), []string{arg}, envFunc("APP_ENV", "production"), &out), arg)
		lines := strings.Split(out.String(), "\n")
		for _, cmd := range []string{"serve", "migrate up", "migrate down", "migrate reset", "migrate status", "events replay", "jobs failed", "jobs retry", "functions pause", "functions resume", "functions paused", "runs cancel", "runs retry", "version", "help"} {
			n := 0
			for _, l := range lines {
				if strings.HasPrefix(strings.TrimSpace(l), cmd+" ") {
					n++
				}
			}
			require.Equal(t, 1, n, "%s: one line for %q in:\n%s", arg, cmd, out.String())
		}
	}

	err := run(t.Context(), []string{"nonsense"}, envFunc(), &bytes.Buffer{})
	require.ErrorContains(t, err, `unknown command "nonsense" (want serve, migrate, seed, db-url, events, jobs, functions, runs, version or help)`)
}

// TestVersionCommand: `server version` needs no configuration and prints
// the server's and Go's versions (a test binary has no module versions, so
// River's is checked on the built binary, TestBinaryVersion).
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"version"}, envFunc("APP_ENV", "production"), &out))
	require.Regexp(t, `(?m)^server  \S+$`, out.String())
	require.Contains(t, out.String(), "\ngo      "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n")
}

// TestVersionText covers where the version comes from: the stamped
// -ldflags version first, else the module version Go recorded, else
// "devel"; the VCS revision when recorded; River's module version, or its
// replacement.
func TestVersionText(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/mohallamart/backend", Version: "v1.4.0"},
		Deps: []*debug.Module{
			{Path: "github.com/riverqueue/river/rivertype", Version: "v0.0.1"},
			{Path: riverModule, Version: "v0.51.2"},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	text := versionText("v2.0.0", bi)
	require.Contains(t, text, "server  v2.0.0\n")
	require.Contains(t, text, "commit  0123abcd 2026-01-02T03:04:05Z (modified)\n")
	require.Contains(t, text, "river   v0.51.2\n")

	require.Contains(t, versionText("", bi), "server  v1.4.0\n")

	bi.Main.Version = "(devel)"
	bi.Settings = nil
	bi.Deps[1].Replace = &debug.Module{Path: "../river", Version: ""}
	text = versionText("", bi)
	require.Contains(t, text, "server  devel\n")
	require.NotContains(t, text, "commit")
	require.Contains(t, text, "river   v0.51.2 (replaced by ../river )\n")

	require.Contains(t, versionText("", nil), "river   unknown")
}

// TestBinaryVersion runs `server version`, without any configuration, on
// the binary the tests share, whose version testserver stamps as the
// Dockerfile does (-ldflags -X main.version; the Dockerfile's other flags
// are left out, as they would rebuild every package): it prints the
// stamped version and the River version go.mod pins.
func TestBinaryVersion(t *testing.T) {
	t.Parallel()
	dockerfile, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	require.Contains(t, string(dockerfile), "-X main.version=${VERSION}", "the Dockerfile stamps the version this test checks")

	bin := testserver.Binary(t) // built with -X main.version=testserver.Version

	goMod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	pinned := regexp.MustCompile(`(?m)^\s*github\.com/riverqueue/river (v\S+)`).FindSubmatch(goMod)
	require.NotNil(t, pinned, "go.mod requires River")

	cmd := exec.CommandContext(t.Context(), bin, "version") //nolint:gosec // the binary just built
	cmd.Env = []string{"APP_ENV=production"}                // no DATABASE_URL or secrets: not needed
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "server  "+testserver.Version+"\n")
	require.Contains(t, string(out), "river   "+string(pinned[1])+"\n")
}
