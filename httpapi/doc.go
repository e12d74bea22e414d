// Package httpapi is MohallaMart's HTTP interface: the REST routes that call
// package mart, the Inngest-compatible event API (POST /v1/events and
// POST /e/{eventKey}, answered like Inngest's event API so the web app's
// inngest.send() works unchanged; docs/http-api.md lists which events need rows
// stored here, and with CORS for the browser origins in Opts.CORSOrigins),
// browsing the event log (GET /v1/events, and each event's jobs and
// deliveries), the public event JSON Schemas and OpenAPI document, product
// search, River UI, health, readiness, and GET /metrics: the HTTP and event metrics
// are this package's, served from a registry the caller also registers its
// other collectors with (cmd/server adds the job metrics and the runtime).
//
// NewHandler builds the whole stack on a net/http ServeMux from one routes
// table (routeTable), which the test of openapi.json also reads. Every request
// gets a request id (X-Request-Id, in its log line and in error bodies), is
// logged and counted by route pattern. Errors are *apperr.Error values,
// answered as {"error", "details", "requestId"} with their public message;
// httpStatus is the one place their codes become statuses: 400 invalid, 401
// auth, 403 a key of the wrong scope (or a public event key's event name
// outside PublicEventNames, or another site's page), 404, 405 (with Allow)
// method not allowed, 409 conflict, 413 too large, 421 a Host other than
// localhost in development, 422 unprocessable, 429 rate limited, 503
// database unavailable, 500 for any error without a code, which is logged
// and never shown.
//
// The event API stores a whole request in one transaction through
// outbox.Publish: all events and their jobs, or nothing. Before that it
// checks, in one query, that the rows the events' jobs will read are stored
// here (checkRefs: 422 otherwise). Events whose names trigger nothing are
// logged and counted. Limits: 256 KiB per event, 3 MiB per request, 1000
// events per request.
package httpapi
