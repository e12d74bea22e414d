package main

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envFunc(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestEnvExampleListsEveryVariable keeps .env.example true: it must name
// exactly the variables loadConfig reads.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	t.Parallel()
	var read []string
	_, _ = loadConfig(func(k string) string {
		if !slices.Contains(read, k) {
			read = append(read, k)
		}
		return ""
	})

	f, err := os.Open("../../.env.example")
	require.NoError(t, err)
	defer f.Close()
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			listed = append(listed, name)
		}
	}
	require.NoError(t, sc.Err())
	slices.Sort(read)
	slices.Sort(listed)
	require.Equal(t, read, listed)
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	t.Run("DevelopmentDefaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(envFunc())
		require.NoError(t, err)
		require.Equal(t, RoleAll, cfg.Role)
		require.Equal(t, ":8080", cfg.Addr)
		require.Equal(t, ".data", cfg.DataDir)
		require.True(t, cfg.MigrateOnStart)
		require.Equal(t, 30*time.Second, cfg.ShutdownTimeout)
		require.Equal(t, "03:00", cfg.CleanupAt)
		require.Equal(t, "Asia/Kolkata", cfg.CleanupTimezone)
		require.Empty(t, cfg.EventKeys)
	})

	t.Run("ProductionNamesEveryMissingSecret", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(envFunc("APP_ENV", "production"))
		require.Error(t, err)
		for _, name := range []string{"DATABASE_URL", "EVENT_KEYS", "ADMIN_USER", "ADMIN_PASSWORD"} {
			require.ErrorContains(t, err, name+" is required in production")
		}

		cfg, err := loadConfig(envFunc("APP_ENV", "production", "DATABASE_URL", "postgres://db/app",
			"EVENT_KEYS", " k1, k2 ,", "ADMIN_USER", "ops", "ADMIN_PASSWORD", "s3cret"))
		require.NoError(t, err)
		require.Equal(t, []string{"k1", "k2"}, cfg.EventKeys)
		require.False(t, cfg.MigrateOnStart, "production migrates as a deploy step")
	})

	t.Run("InvalidValuesAreNamed", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(envFunc("ROLE", "both", "SHUTDOWN_TIMEOUT", "soon", "LOG_RETENTION_DAYS", "-1",
			"MIGRATE_ON_START", "maybe", "APP_ENV", "staging"))
		for _, want := range []string{"ROLE must be", "SHUTDOWN_TIMEOUT must be", "LOG_RETENTION_DAYS must be",
			"MIGRATE_ON_START must be", "APP_ENV must be"} {
			require.ErrorContains(t, err, want)
		}
	})
}
