package pgcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

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
	return os.MkdirTemp(tempParent(os.Getenv("TMPDIR"), func() bool { return inMemory(memoryDir, minMemoryFree) }), pattern)
}

// tempParent is the parent directory of TempDir's directories given the
// value of TMPDIR and whether memoryDir is usable (asked only when TMPDIR
// is unset): "" for os.TempDir().
func tempParent(tmpdir string, memory func() bool) string {
	if tmpdir == "" && memory() {
		return memoryDir
	}
	return ""
}

// StartTemp starts a throwaway cluster (Start) in a new directory that
// TempDir creates from pattern. The cluster's Stop also removes the
// directory, as StartTemp does when the cluster fails to start: a test run
// that stops what it started leaves nothing behind.
func StartTemp(ctx context.Context, pattern string, logger *slog.Logger) (*Cluster, error) {
	dir, err := TempDir(pattern)
	if err != nil {
		return nil, fmt.Errorf("start postgres: create directory: %w", err)
	}
	c, err := Start(ctx, Opts{Dir: dir, Logger: logger})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	c.removeDir = true
	return c, nil
}
