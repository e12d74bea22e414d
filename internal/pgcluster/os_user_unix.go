//go:build unix

package pgcluster

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr returns the process attributes that make a command run as u
// (with u's primary group as its only group) and, if newSession, in a
// process group of its own.
func sysProcAttr(u osUser, newSession bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: newSession}
	if u.switchUser {
		attr.Credential = &syscall.Credential{
			Uid:    uint32(u.uid),           //nolint:gosec // uid from the user database
			Gid:    uint32(u.gid),           //nolint:gosec // gid from the user database
			Groups: []uint32{uint32(u.gid)}, //nolint:gosec // gid from the user database
		}
	}
	return attr
}

// fileOwner returns the owning uid and gid of fi.
func fileOwner(fi os.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// processAlive reports whether a process with id pid exists (signal 0
// checks without signalling; EPERM means it exists but belongs to another
// user).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
