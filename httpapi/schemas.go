package httpapi

import (
	"net/http"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
)

// schemaList is GET /v1/schemas: the catalog's event names, sorted; each
// one's schema is at /v1/schemas/{name}.
type schemaList struct {
	Names []string `json:"names"`
}

// listSchemas serves GET /v1/schemas. Public: schemas hold no data.
func (s *server) listSchemas(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, schemaList{Names: events.Names()})
}

// getSchema serves GET /v1/schemas/{name...}: the JSON Schema of the
// catalog event's data, as events.Schema renders it (the validator's own
// field table). Public: schemas hold no data.
func (s *server) getSchema(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	schema, ok := events.Schema(name)
	if !ok {
		s.writeError(w, r, apperr.Errorf(apperr.NotFound, "No event called %q is in the catalog; GET /v1/schemas lists them.", name))
		return
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(schema)
}
