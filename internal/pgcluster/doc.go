// Package pgcluster starts a private PostgreSQL server from the locally
// installed server binaries (initdb, pg_ctl, postgres).
//
// It exists so that `make run` and the test suite work on a machine without
// a configured PostgreSQL service: `make run` keeps a persistent cluster in
// .data/, and tests start a throwaway one in a temporary directory
// ([TempDir], in memory where it can) when no TEST_DATABASE_URL is set.
//
// # What Start does
//
// [Start] runs initdb when the directory has no cluster yet, then starts the
// server with pg_ctl on a TCP port of 127.0.0.1 (never any other address)
// plus a unix socket, with trust authentication for the superuser
// "postgres". It waits until the server accepts connections and creates the
// database "app" if it is missing. The port is chosen free on the first
// start and kept in Dir/port, so the cluster's URL never changes.
//
// [Cluster.Restart] restarts the server with pg_ctl, cleanly (fast) or as
// after a crash (immediate), keeping its port: the reliability suite
// restarts its own cluster under load.
//
// # Ownership
//
// The process that starts the server owns it (Dir/owner.pid holds its pid)
// and is the only one whose [Cluster.Stop] stops it. A server already
// running in the directory is adopted instead of started twice: an adopter
// leaves it running for its live owner (`make migrate` next to `make run`),
// and takes it over when the owner has exited without stopping it (a
// crashed `make run`). [Inspect] reports a directory's port, whether its
// server runs and who owns it, changing nothing.
//
// The server runs with fsync, synchronous_commit and full_page_writes off:
// fast, but a machine crash can corrupt the cluster. That is acceptable for
// a development or test cluster and for nothing else.
//
// # Running as root
//
// initdb and postgres refuse to run as root. When the process runs as root
// (CI and the development containers do), the binaries are run as the
// unprivileged OS user "postgres", the data directory is handed to that user,
// and missing traverse (x) permissions on its parent directories are added.
package pgcluster
