package pgcluster

import "os"

// memoryDir is where [TempDir] puts a throwaway cluster when it can: a
// tmpfs on Linux.
const memoryDir = "/dev/shm"

// minMemoryFree is the room memoryDir must have left for [TempDir] to
// use it: `make test`'s cluster peaks at about 130 MiB of databases and
// WAL.
const minMemoryFree = 1 << 30

// TempDir creates a directory for a throwaway cluster (one a test run
// starts and removes) and returns its path. Unless TMPDIR is set, it is in
// memory (/dev/shm) when that is a tmpfs with at least 1 GiB free; else it
// is in os.TempDir().
//
// In memory, a test suite that creates and drops a database per test
// costs PostgreSQL far less CPU: on ext4, each of the hundreds of files a
// CREATE DATABASE copies searches the inode table past the inodes the
// last drops freed. A cluster meant to be kept never belongs here.
func TempDir(pattern string) (string, error) {
	return os.MkdirTemp(tempParent(os.Getenv("TMPDIR")), pattern)
}

// tempParent is the parent directory of TempDir's directories given the
// value of TMPDIR: "" for os.TempDir().
func tempParent(tmpdir string) string {
	if tmpdir == "" && inMemory(memoryDir, minMemoryFree) {
		return memoryDir
	}
	return ""
}
