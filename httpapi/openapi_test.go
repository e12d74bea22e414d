package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIDescribesEveryRoute checks openapi.json against routeTable,
// which NewHandler registers: every route (with every option on) is in
// the document with its auth, and every operation of the document is a
// route. Only River UI, a web application under a prefix, is left out.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	metrics, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	pages, err := newMailboxPages()
	require.NoError(t, err)
	s := &server{Opts: Opts{Metrics: metrics, RiverUI: http.NotFoundHandler(), DevMailbox: true}}

	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Auth      string `json:"x-auth"`
			Responses map[string]any
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	documented := map[string]string{} // "METHOD /path" → x-auth
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			require.NotEmpty(t, op.Responses, "%s %s has no responses", method, path)
			documented[strings.ToUpper(method)+" "+path] = op.Auth
		}
	}

	// The mux's {name...} wildcard is OpenAPI's {name}.
	rest := regexp.MustCompile(`\{(\w+)\.\.\.\}`)
	registered := map[string]string{}
	var undocumented []string
	for _, rt := range s.routeTable(pages) {
		if rt.undocumented {
			undocumented = append(undocumented, rt.pattern)
			continue
		}
		registered[rest.ReplaceAllString(rt.pattern, "{$1}")] = string(rt.auth)
	}
	require.Equal(t, []string{"/riverui/"}, undocumented)
	require.Equal(t, registered, documented, "routes (with their auth) and the OpenAPI document differ")
	require.Contains(t, registered, "GET /v1/events", "the table is the one with every option on")
}
