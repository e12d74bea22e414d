package pgcluster

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// serverOSUser is the unprivileged OS user the server binaries run as when
// this process is root. Debian's and RHEL's packages create it.
const serverOSUser = "postgres"

// osUser runs the PostgreSQL binaries. Its zero value runs them as the
// current user; when the process is root (initdb and postgres refuse to run
// as root) it switches to serverOSUser.
type osUser struct {
	switchUser bool // run commands as uid/gid instead of the current user
	name       string
	uid, gid   int
}

// currentOSUser returns the osUser that must run the server binaries: the
// current user, or serverOSUser when this process is root. It fails when
// running as root and serverOSUser does not exist.
func currentOSUser() (osUser, error) {
	if os.Geteuid() != 0 {
		return osUser{}, nil
	}
	u, err := user.Lookup(serverOSUser)
	if err != nil {
		return osUser{}, fmt.Errorf("running as root, and initdb refuses to, but the unprivileged OS user %q to run PostgreSQL as was not found "+
			"(create it, e.g. useradd --system %s, or run as a non-root user): %w", serverOSUser, serverOSUser, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return osUser{}, fmt.Errorf("parse uid of OS user %q: %w", serverOSUser, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return osUser{}, fmt.Errorf("parse gid of OS user %q: %w", serverOSUser, err)
	}
	if uid == 0 {
		return osUser{}, fmt.Errorf("OS user %q has uid 0, but PostgreSQL must run as an unprivileged user", serverOSUser)
	}
	return osUser{switchUser: true, name: u.Username, uid: uid, gid: gid}, nil
}

// command builds a command that runs the program at path as this user, in
// directory dir, with the PG* variables removed from the environment so that
// a developer's PGDATA, PGPORT and the like cannot redirect it. newSession
// detaches it from the terminal's process group, so that a Ctrl-C meant for
// the Go program does not also kill the server it starts.
func (u osUser) command(ctx context.Context, dir string, newSession bool, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr(u, newSession)
	env := os.Environ()
	cmd.Env = env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// chown hands path to this user when it switches users, and does nothing
// otherwise or when path is already owned by it.
func (u osUser) chown(path string) error {
	if !u.switchUser {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if uid, gid, ok := fileOwner(fi); ok && uid == u.uid && gid == u.gid {
		return nil
	}
	if err := os.Lchown(path, u.uid, u.gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, u.name, err)
	}
	return nil
}

// chownTree hands path and everything below it to this user when it
// switches users.
func (u osUser) chownTree(root string) error {
	if !u.switchUser {
		return nil
	}
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return u.chown(path)
	})
	if err != nil {
		return fmt.Errorf("chown %s to %s: %w", root, u.name, err)
	}
	return nil
}

// ensureTraversable makes sure this user can traverse every ancestor of dir,
// adding the x bit for others where it can't: t.TempDir(), for example, is
// below a 0700 root-owned directory. Only the traverse bit is added; the
// directories stay unreadable to others. It does nothing when the user is
// not switched, since the current user has created or reached dir already.
func (u osUser) ensureTraversable(ctx context.Context, logger *slog.Logger, dir string) error {
	if !u.switchUser {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if !u.canTraverse(fi) {
			mode := fi.Mode().Perm() | 0o001
			logger.InfoContext(ctx, "Making directory traversable for the PostgreSQL OS user",
				slog.String("dir", p), slog.String("os_user", u.name), slog.String("mode", mode.String()))
			if err := os.Chmod(p, mode); err != nil {
				return fmt.Errorf("make %s traversable for OS user %s: %w", p, u.name, err)
			}
		}
		if parent := filepath.Dir(p); parent == p {
			return nil
		}
	}
}

// canTraverse reports whether this user may traverse the directory fi by its
// permission bits (supplementary groups aside: commands run with only the
// user's primary group).
func (u osUser) canTraverse(fi os.FileInfo) bool {
	perm := fi.Mode().Perm()
	if perm&0o001 != 0 {
		return true
	}
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return true // can't tell; let the command fail with its own error
	}
	switch {
	case uid == u.uid:
		return perm&0o100 != 0
	case gid == u.gid:
		return perm&0o010 != 0
	default:
		return false
	}
}
