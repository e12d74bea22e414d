package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBaseURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080",
		"[::]:8080":      "http://localhost:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"[::1]:8080":     "http://[::1]:8080",
	} {
		require.Equal(t, want, baseURL(addr), addr)
	}
}

// TestBinaryDevPagesOnlyInDevelopment: in development the server prints
// where everything is once it listens and serves the dev mailbox; in
// production it prints none of that and /dev/mailbox does not exist.
func TestBinaryDevPagesOnlyInDevelopment(t *testing.T) {
	t.Parallel()
	t.Run("development", func(t *testing.T) {
		t.Parallel()
		s := startServer(t)
		require.Equal(t, http.StatusOK, get(t, s.base+"/dev/mailbox"))
		logs := s.logs.String()
		require.Contains(t, logs, "MohallaMart is ready (development):")
		require.Contains(t, logs, "Dev mailbox  "+s.base+"/dev/mailbox")
		require.Contains(t, logs, "River UI     "+s.base+"/riverui/")
		require.Contains(t, logs, "Try          make seed")
		dbLine := regexp.MustCompile(`Database +(\S+)`).FindStringSubmatch(logs)
		require.NotNil(t, dbLine, "the database URL is printed")
		require.True(t, strings.HasPrefix(s.dbURL, strings.SplitN(dbLine[1], "?", 2)[0]), "%s is where the server connects (%s)", dbLine[1], s.dbURL)
	})
	t.Run("production", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, productionServerEnv()...)
		require.Equal(t, http.StatusNotFound, get(t, s.base+"/dev/mailbox"))
		require.NotContains(t, s.logs.String(), "MohallaMart is ready")
	})
}

func get(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
