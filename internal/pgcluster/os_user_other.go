//go:build !unix

package pgcluster

import (
	"os"
	"syscall"
)

// sysProcAttr returns nil: outside unix the process never runs as root
// (os.Geteuid returns -1), so no user switch is needed.
func sysProcAttr(osUser, bool) *syscall.SysProcAttr {
	return nil
}

// fileOwner reports that ownership is unknown outside unix.
func fileOwner(os.FileInfo) (uid, gid int, ok bool) {
	return 0, 0, false
}

// processAlive reports that any positive pid is alive: outside unix there
// is no cheap check, and assuming an owner is alive never stops its server.
func processAlive(pid int) bool {
	return pid > 0
}
