package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStartsClusterForCommand runs a command that connects to the
// TEST_DATABASE_URL it is given and writes down the data directory the
// cluster serves from: the command sees a running cluster, and after run
// returns, that directory is gone.
func TestRunStartsClusterForCommand(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed: the command under test needs it to connect")
	}
	t.Setenv("TEST_DATABASE_URL", "")
	out := filepath.Join(t.TempDir(), "data_directory")
	code := run([]string{"sh", "-c", `psql "$TEST_DATABASE_URL" -Atc 'SHOW data_directory' > ` + out})
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := strings.TrimSpace(string(b))
	if dataDir == "" {
		t.Fatal("the command did not read the cluster's data directory")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("the cluster's data directory %s is still there after run (stat: %v)", dataDir, err)
	}
}

// TestRunPassesExitCode runs a failing command under a TEST_DATABASE_URL
// that is already set: run starts no cluster, gives the command the URL as
// it is and returns the command's exit code.
func TestRunPassesExitCode(t *testing.T) {
	t.Setenv("TEST_DATABASE_URL", "postgres://nowhere.invalid/x")
	if code := run([]string{"sh", "-c", `test "$TEST_DATABASE_URL" = postgres://nowhere.invalid/x && exit 3`}); code != 3 {
		t.Errorf("exit code %d, want 3 (the command's)", code)
	}
	if code := run([]string{"no-such-command-withpg-test"}); code != 1 {
		t.Errorf("exit code %d for a command that cannot start, want 1", code)
	}
}
