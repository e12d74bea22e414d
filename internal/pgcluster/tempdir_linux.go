package pgcluster

import "syscall"

// tmpfsMagic is the f_type statfs(2) reports for a tmpfs.
const tmpfsMagic = 0x01021994

// inMemory reports whether dir is a writable tmpfs with at least free
// bytes available.
func inMemory(dir string, free uint64) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Type != tmpfsMagic {
		return false
	}
	return syscall.Access(dir, 2 /* W_OK */) == nil && st.Bavail*uint64(st.Bsize) >= free //nolint:gosec // a block size is positive
}
