package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 document of the HTTP API, served at GET
// /openapi.json. A test checks that it lists exactly the routes of
// routeTable.
//
//go:embed openapi.json
var openAPIDoc []byte

// serveOpenAPI serves GET /openapi.json. Public: it describes the routes,
// and holds no data.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDoc)
}
