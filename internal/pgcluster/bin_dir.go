package pgcluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// errBinariesNotFound is returned by FindBinDir; its text tells the reader
// how to fix the problem.
const errBinariesNotFound = "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: " +
	"install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set DATABASE_URL"

// FindBinDir locates the directory containing the PostgreSQL server
// binaries initdb, pg_ctl and postgres.
//
// It looks on PATH first (following symlinks, so a /usr/local/bin/initdb
// link to /usr/lib/postgresql/15/bin/initdb yields the latter), then in
// /usr/lib/postgresql/*/bin taking the highest version, then in the RHEL
// and Homebrew locations /usr/pgsql-*/bin and
// {/opt/homebrew,/usr/local}/opt/postgresql@*/bin. When nothing is found the
// error says how to install the binaries.
func FindBinDir() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(initdb); err == nil && hasServerBinaries(filepath.Dir(resolved)) {
			return absDir(filepath.Dir(resolved)), nil
		}
		if hasServerBinaries(filepath.Dir(initdb)) {
			return absDir(filepath.Dir(initdb)), nil
		}
	}

	// Well-known install locations, in order; within one pattern the
	// highest version wins.
	patterns := []string{
		"/usr/lib/postgresql/*/bin",          // Debian, Ubuntu
		"/usr/pgsql-*/bin",                   // RHEL, Fedora (PGDG packages)
		"/opt/homebrew/opt/postgresql@*/bin", // macOS Homebrew (Apple silicon), keg-only
		"/usr/local/opt/postgresql@*/bin",    // macOS Homebrew (Intel), keg-only
	}
	for _, pattern := range patterns {
		matches, err := filepath.Glob(pattern)
		if err != nil || len(matches) == 0 {
			continue
		}
		prefix, suffix, _ := strings.Cut(pattern, "*")
		slices.SortFunc(matches, func(a, b string) int {
			// Highest version first.
			return compareVersions(versionOf(b, prefix, suffix), versionOf(a, prefix, suffix))
		})
		for _, dir := range matches {
			if hasServerBinaries(dir) {
				return dir, nil
			}
		}
	}

	return "", errors.New(errBinariesNotFound)
}

// absDir returns dir made absolute, or dir itself if that fails.
func absDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	return abs
}

// hasServerBinaries reports whether dir holds initdb, pg_ctl and postgres as
// executable regular files: initdb and pg_ctl are run directly, and pg_ctl
// starts postgres from its own directory.
func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf extracts the part of path matched by the '*' of a pattern split
// into prefix and suffix, e.g. "15" from "/usr/lib/postgresql/15/bin".
func versionOf(path, prefix, suffix string) string {
	return strings.TrimSuffix(strings.TrimPrefix(path, prefix), suffix)
}

// compareVersions compares dotted numeric versions ("9.6" < "10" < "16.2");
// non-numeric parts count as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
