package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the server's version, stamped at build time with
// -ldflags "-X main.version=v1.2.3" (the Dockerfile does). It is a package
// variable because the linker can only set those. Empty: the version Go
// recorded in the binary (a module version, or the VCS revision) is shown.
var version string

// riverModule is the River module whose version `server version` reports.
const riverModule = "github.com/riverqueue/river"

// usage is what `server help` prints: every command, one line each.
const usage = `Usage: server [command]

Commands:
  serve [-migrate]  run the server: HTTP API and/or workers by ROLE (all, api, worker); the default command
  migrate up        apply every pending migration
  migrate down      roll back the newest migration
  migrate reset     roll back every migration
  migrate status    list migrations and whether each is applied
  seed              create the demo neighbourhood through the domain writes (idempotent)
  db-url            print the database URL: DATABASE_URL, or the running private cluster's under DATA_DIR
  events replay     --name N --since T [--until T] [--function KIND] [--dry-run]: enqueue stored events' functions again
  jobs failed       [--since T] [--kind KIND]: failed jobs (discarded, cancelled) grouped by kind and error
  jobs retry        --kind KIND --since T [--until T] [--error-like S] [--match data.F=V] [--dry-run]: retry failed jobs in bulk
  functions pause   ID [--dry-run]: hold the function's runs (every process) until it is resumed
  functions resume  ID [--dry-run]: release a paused function's held runs
  functions paused  the paused functions and how many runs each holds
  runs cancel       --function ID [--since T] [--until T] [--match data.F=V] [--reason R] [--dry-run]: cancel runs not finished
  runs retry        --function ID --since T [--until T] [--match data.F=V] [--error-like S] [--dry-run]: retry failed runs
  version           print the server's, River's and Go's versions
  help              print this help (also -h, --help)

Configuration comes from the environment; .env.example lists every variable.
`

// infoCommand answers the commands that need no configuration: version and
// help (also -h, -help, --help). handled is false for every other command.
func infoCommand(args []string, stdout io.Writer) (handled bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	var text string
	switch args[0] {
	case "version":
		bi, _ := debug.ReadBuildInfo()
		text = versionText(version, bi)
	case "help", "-h", "-help", "--help":
		text = usage
	default:
		return false, nil
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		return true, fmt.Errorf("write %s: %w", args[0], err)
	}
	return true, nil
}

// versionText describes the build: the server's version (stamped, else
// from bi), its VCS revision when Go recorded one, the River module it was
// built with, and the Go toolchain. bi may be nil.
func versionText(stamped string, bi *debug.BuildInfo) string {
	if bi == nil {
		bi = &debug.BuildInfo{}
	}
	server := stamped
	if server == "" {
		server = bi.Main.Version
	}
	if server == "" || server == "(devel)" {
		server = "devel"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server  %s\n", server)

	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		commit := rev
		if t := settings["vcs.time"]; t != "" {
			commit += " " + t
		}
		if settings["vcs.modified"] == "true" {
			commit += " (modified)"
		}
		fmt.Fprintf(&b, "commit  %s\n", commit)
	}

	river := "unknown (no module information in this binary)"
	for _, dep := range bi.Deps {
		if dep.Path != riverModule {
			continue
		}
		river = dep.Version
		if dep.Replace != nil {
			river = fmt.Sprintf("%s (replaced by %s %s)", dep.Version, dep.Replace.Path, dep.Replace.Version)
		}
	}
	fmt.Fprintf(&b, "river   %s\n", river)
	fmt.Fprintf(&b, "go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}
