package pgcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInMemory checks inMemory against the mount table: every writable
// tmpfs mount is in memory, the root file system of a machine that does
// not boot from memory is not.
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
		if f[2] == "tmpfs" && os.Geteuid() == 0 {
			require.True(t, inMemory(f[1], 0), "%s is a tmpfs", f[1])
			checked++
		}
		if f[1] == "/" && f[2] != "tmpfs" {
			require.False(t, inMemory(f[1], 0), "/ is %s", f[2])
			checked++
		}
	}
	if checked == 0 {
		t.Skip("/proc/mounts lists no tmpfs this user may write to (only root is sure to) and no root file system on disk: nothing to compare inMemory with")
	}
	require.False(t, inMemory(filepath.Join(t.TempDir(), "missing"), 0), "a missing directory")
}

// TestTempDir checks that TempDir creates an empty directory, in memory
// exactly when /dev/shm is a tmpfs with room.
func TestTempDir(t *testing.T) {
	t.Parallel()
	dir, err := TempDir("pgcluster-test-")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, os.Remove(dir)) })
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
	require.True(t, strings.HasPrefix(filepath.Base(dir), "pgcluster-test-"), dir)
	if inMemory(memoryDir, minMemoryFree) {
		require.Equal(t, memoryDir, filepath.Dir(dir))
	} else {
		require.Equal(t, filepath.Clean(os.TempDir()), filepath.Dir(dir))
	}
}
