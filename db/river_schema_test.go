package db

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the River migrations in db/migrations from the River version in go.mod")

const (
	// riverSchemaVersion is the newest River schema version our migrations
	// apply. A River upgrade that brings newer versions needs new goose
	// migrations for them (run this test with -update) and this constant raised.
	riverSchemaVersion = 8
	// riverFirstGooseVersion is the goose version of River's version 1; River
	// version n is goose version riverFirstGooseVersion+n-1.
	riverFirstGooseVersion = 3
)

// riverMigrationFile renders one River migration (from the River module
// pinned in go.mod) as a goose migration of its own, so that each runs in its
// own transaction as River's migrator runs them, and records itself in
// river_migration so River's own tooling sees the schema as current.
func riverMigrationFile(m rivermigrate.Migration) (name, content string) {
	slug := strings.ReplaceAll(m.Name, " ", "_")
	name = fmt.Sprintf("%05d_river_%03d_%s.sql", riverFirstGooseVersion+m.Version-1, m.Version, slug)
	record := fmt.Sprintf("INSERT INTO river_migration (line, version) VALUES ('main', %d);", m.Version)
	forget := fmt.Sprintf("DELETE FROM river_migration WHERE line = 'main' AND version = %d;", m.Version)
	if m.Version < 5 { // River version 5 added river_migration.line
		record = fmt.Sprintf("INSERT INTO river_migration (version) VALUES (%d);", m.Version)
		forget = fmt.Sprintf("DELETE FROM river_migration WHERE version = %d;", m.Version)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- River schema version %d (%s), generated from the River module in go.mod by\n", m.Version, m.Name)
	b.WriteString("-- `go test ./db -run TestRiverSchemaCurrent -update`. Do not edit.\n\n")
	fmt.Fprintf(&b, "-- +goose Up\n-- +goose StatementBegin\n%s\n\n%s\n-- +goose StatementEnd\n\n", untemplate(m.SQLUp), record)
	fmt.Fprintf(&b, "-- +goose Down\n-- +goose StatementBegin\n%s\n\n%s\n-- +goose StatementEnd\n", forget, untemplate(m.SQLDown))
	return name, b.String()
}

func untemplate(sql string) string {
	return strings.TrimSpace(strings.ReplaceAll(sql, "/* TEMPLATE: schema */", ""))
}

// TestRiverSchemaCurrent fails when the River migration files do not match
// the River module in go.mod, or when that River has schema versions no
// migration applies yet (after a River upgrade).
func TestRiverSchemaCurrent(t *testing.T) {
	t.Parallel()
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	require.NoError(t, err)
	all := migrator.AllVersions()
	require.Equal(t, riverSchemaVersion, all[len(all)-1].Version,
		"River in go.mod has schema versions our migrations do not apply: raise riverSchemaVersion and run with -update")
	for _, m := range all {
		name, want := riverMigrationFile(m)
		path := filepath.Join("migrations", name)
		if *update {
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "River migration missing: run go test ./db -run TestRiverSchemaCurrent -update")
		require.Equal(t, want, string(got), "River migration %s is stale: run go test ./db -run TestRiverSchemaCurrent -update", name)
	}
}
