package pgcluster

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writable reports whether this process can create a file in dir, by
// creating one.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, "pgcluster-probe-")
	if err != nil {
		return false
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return true
}

// TestInMemory checks inMemory against the mount table: a tmpfs mounted
// read-write is in memory exactly when this process can create a file in
// it, and the root file system of a machine that does not boot from
// memory is not; no file system has room for math.MaxUint64 bytes.
func TestInMemory(t *testing.T) {
	t.Parallel()
	mounts, err := os.ReadFile("/proc/mounts")
	require.NoError(t, err)
	checked := 0
	for line := range strings.Lines(string(mounts)) {
		// device, mount point, type, options, ...
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[3], "rw") || strings.ContainsRune(f[1], '\\') {
			continue
		}
		if f[2] == "tmpfs" {
			require.Equal(t, writable(f[1]), inMemory(f[1], 0), "tmpfs %s", f[1])
			require.False(t, inMemory(f[1], math.MaxUint64), "tmpfs %s with room for 2^64 bytes", f[1])
			checked++
		}
		if f[1] == "/" && f[2] != "tmpfs" && f[2] != "rootfs" {
			require.False(t, inMemory(f[1], 0), "/ is %s", f[2])
			checked++
		}
	}
	if checked == 0 {
		t.Skip("/proc/mounts lists no read-write tmpfs and no root file system on disk: nothing to compare inMemory with")
	}
	require.False(t, inMemory(filepath.Join(t.TempDir(), "missing"), 0), "a missing directory")
}

// TestTempDir checks that TempDir creates an empty directory where a set
// TMPDIR says, and tempParent's choice: /dev/shm when TMPDIR is unset and
// /dev/shm is usable (TestInMemory checks that judgement), else
// os.TempDir(). Unset, TempDir asks inMemory about /dev/shm with 1 GiB.
func TestTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir, err := TempDir("pgcluster-test-")
	require.NoError(t, err)
	require.Equal(t, tmp, filepath.Dir(dir))
	require.True(t, strings.HasPrefix(filepath.Base(dir), "pgcluster-test-"), dir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)

	usable := func() bool { return true }
	require.Equal(t, memoryDir, tempParent("", usable), "TMPDIR unset, /dev/shm usable")
	require.Empty(t, tempParent("", func() bool { return false }), "TMPDIR unset, /dev/shm not usable: os.TempDir()")
	require.Empty(t, tempParent("/somewhere", usable), "TMPDIR set: os.TempDir(), even with /dev/shm usable")

	t.Setenv("TMPDIR", "")
	dir, err = TempDir("pgcluster-test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.Remove(dir) })
	want := os.TempDir()
	if inMemory("/dev/shm", 1<<30) {
		want = "/dev/shm"
	}
	require.Equal(t, want, filepath.Dir(dir), "TMPDIR unset")
}
