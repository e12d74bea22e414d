package pgcluster

import "golang.org/x/sys/unix"

// inMemory reports whether dir is a tmpfs this process may write to with
// at least free bytes available.
func inMemory(dir string, free uint64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return false
	}
	return unix.Access(dir, unix.W_OK) == nil && st.Bavail*uint64(st.Bsize) >= free //nolint:gosec // a block size is positive
}
