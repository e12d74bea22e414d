package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEnvFile: .env supplies defaults (quoted values unquoted, comments
// skipped), the environment wins, and .env.example itself loads.
func TestEnvFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".env")
	require.NoError(t, os.WriteFile(path, []byte("# comment\n\nEMAIL_FROM=\"MohallaMart <orders@example.com>\"\nexport LOG_LEVEL=debug\nADDR='127.0.0.1:9999'\n"), 0o600))
	getenv, err := withEnvFile(path, envFunc("LOG_LEVEL", "warn"))
	require.NoError(t, err)
	require.Equal(t, "MohallaMart <orders@example.com>", getenv("EMAIL_FROM"))
	require.Equal(t, "warn", getenv("LOG_LEVEL"), "the environment wins")
	require.Equal(t, "127.0.0.1:9999", getenv("ADDR"))

	same, err := withEnvFile(filepath.Join(t.TempDir(), "missing"), envFunc("ADDR", "x"))
	require.NoError(t, err)
	require.Equal(t, "x", same("ADDR"))

	require.NoError(t, os.WriteFile(path, []byte("NOT A LINE\n"), 0o600))
	_, err = withEnvFile(path, envFunc())
	require.ErrorContains(t, err, "line 1: want KEY=VALUE")

	example, err := withEnvFile("../../.env.example", envFunc())
	require.NoError(t, err, ".env.example loads as an env file")
	_, err = loadConfig(example)
	require.NoError(t, err, ".env.example as it is is a valid development configuration")
}
