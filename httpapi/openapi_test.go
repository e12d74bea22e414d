package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/runs"
)

// TestOpenAPIDescribesEveryRoute checks openapi.json against routeTable,
// which NewHandler registers: every route (with every option on: the
// /admin routes, River UI, the development mailbox) is in the document with
// its auth, and every operation of the document is a route. A route that
// serves a whole subtree (River UI's "/riverui/", every method) is a path
// whose one operation says x-path-prefix.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	metrics, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	pages, err := newMailboxPages()
	require.NoError(t, err)
	s := &server{Opts: Opts{Metrics: metrics, RiverUI: http.NotFoundHandler(), Control: &control.Service{}, Runs: &runs.Service{}, DevMailbox: true}}

	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Auth       string `json:"x-auth"`
			PathPrefix bool   `json:"x-path-prefix"`
			Security   []map[string][]string
			Responses  map[string]any
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	documented := map[string]string{} // "METHOD /path", or "/prefix/", → x-auth
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			require.NotEmpty(t, op.Responses, "%s %s has no responses", method, path)
			if op.Auth == string(authAdmin) {
				require.Equal(t, []map[string][]string{{"admin": {}}}, op.Security, "%s %s takes the admin credentials", method, path)
				require.Contains(t, op.Responses, "401", "%s %s: no credentials", method, path)
				require.Contains(t, op.Responses, "403", "%s %s: an event or API key", method, path)
			}
			key := strings.ToUpper(method) + " " + path
			if op.PathPrefix {
				require.Len(t, ops, 1, "%s: a prefix path has one operation", path)
				require.True(t, strings.HasSuffix(path, "/"), "%s: a prefix path ends with /", path)
				key = path
			}
			documented[key] = op.Auth
		}
	}

	// The mux's {name...} wildcard is OpenAPI's {name}; its {$} (the path
	// itself, not the subtree) is the bare path.
	rest := regexp.MustCompile(`\{(\w+)\.\.\.\}`)
	registered := map[string]string{}
	for _, rt := range s.routeTable(pages) {
		registered[strings.TrimSuffix(rest.ReplaceAllString(rt.pattern, "{$1}"), "{$}")] = string(rt.auth)
	}
	require.Equal(t, registered, documented, "routes (with their auth) and the OpenAPI document differ")
	for _, withOption := range []string{"GET /v1/events", "POST /admin/events/replay", "GET /admin/runs", "/riverui/", "GET /dev/mailbox"} {
		require.Contains(t, registered, withOption, "the table is the one with every option on")
	}
}

// TestOpenAPIMoneyLimits keeps the documented price bound in step with the
// one the API enforces.
func TestOpenAPIMoneyLimits(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Minimum *int64 `json:"minimum"`
					Maximum *int64 `json:"maximum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	for _, schema := range []string{"CreateProduct", "UpdateProduct"} {
		price := doc.Components.Schemas[schema].Properties["pricePaise"]
		require.NotNil(t, price.Minimum, schema)
		require.NotNil(t, price.Maximum, schema)
		require.Equal(t, int64(0), *price.Minimum, schema)
		require.Equal(t, events.MaxPricePaise, *price.Maximum, schema)
	}
}
