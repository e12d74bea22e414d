package httpapi_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/internal/testserver"
	"github.com/mohallamart/backend/search/typesense"
)

// TestInternalErrorIsLoggedNotShown: a failure without an error code (here
// the search backend answering 500) is a 500 whose body says only
// "Internal server error."; its detail goes to the log.
func TestInternalErrorIsLoggedNotShown(t *testing.T) {
	t.Parallel()
	const detail = "raft leader unavailable on ts-node-3"
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"message":%q}`, detail)
	}))
	t.Cleanup(fake.Close)
	index, err := typesense.New(typesense.Opts{URL: fake.URL, APIKey: "ts-test-key"})
	require.NoError(t, err)
	var logs testserver.Buffer
	b := setup(t, func(o *httpapi.Opts) {
		o.Search = index
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})

	r := b.do(t, "GET", "/v1/search/products?q=atta", apiKey, nil)
	m := requireError(t, r, http.StatusInternalServerError)
	require.Equal(t, "Internal server error.", m["error"])
	require.NotContains(t, string(r.body), "ts-node-3")
	require.Contains(t, logs.String(), `"msg":"Request failed"`)
	require.Contains(t, logs.String(), detail)
}
