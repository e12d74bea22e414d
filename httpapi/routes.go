package httpapi

import (
	"net/http"
	"slices"
)

// routeAuth is what a route asks of a request before serving it.
type routeAuth string

// The auth of the routes; openapi.json names the same ones (x-auth).
const (
	authNone  routeAuth = "none"  // public
	authEvent routeAuth = "event" // an event key as Bearer (EVENT_KEYS)
	authPath  routeAuth = "event-path"
	authAPI   routeAuth = "api"   // an API key as Bearer (API_KEYS)
	authAdmin routeAuth = "admin" // basic auth (ADMIN_USER, ADMIN_PASSWORD)
)

// route is one pattern the handler serves. The table of them (routeTable)
// is what NewHandler registers and what the OpenAPI document is checked
// against, so the two cannot drift apart.
type route struct {
	// pattern is the ServeMux pattern: "METHOD /path", or "/prefix/" for
	// every method and path under the prefix (River UI).
	pattern string
	auth    routeAuth
	handler http.Handler
	// fromPages: the pages of CORS_ORIGINS may send the route's
	// state-changing requests (the event ingest routes); every other
	// route refuses browsers' cross-origin requests.
	fromPages bool
}

// routeTable lists every route the handler serves with s's options: the
// operations routes always (/metrics unless OmitMetrics), the API routes
// unless OpsOnly, River UI when it is set and the development mailbox when
// pages is not nil. Event keys open the event ingest routes (public event
// keys for some event names only), API keys the REST routes; the schemas
// and the OpenAPI document are public (they hold no data).
func (s *server) routeTable(pages *mailboxPages) []route {
	routes := []route{
		{pattern: "GET /healthz", auth: authNone, handler: http.HandlerFunc(s.healthz)},
		{pattern: "GET /readyz", auth: authNone, handler: http.HandlerFunc(s.readyz)},
	}
	if !s.OmitMetrics {
		routes = append(routes, route{pattern: "GET /metrics", auth: authNone, handler: s.Metrics.Handler()})
	}
	if s.OpsOnly {
		return routes
	}
	eventKeys, publicKeys, apiKeys := newKeySet(s.EventKeys), newKeySet(s.PublicEventKeys), newKeySet(s.APIKeys)
	events := keyAuth{
		keys: eventKeys, public: publicKeys, other: apiKeys, credential: bearerKey, challenge: `Bearer realm="mohallamart events"`,
		unauthorized: "A valid event key is required: send Authorization: Bearer <key> with a key from EVENT_KEYS (or, from a page, PUBLIC_EVENT_KEYS).",
		forbidden:    "This is an API key; events are sent with an event key (EVENT_KEYS).",
	}
	inngest := keyAuth{
		keys: eventKeys, public: publicKeys, other: apiKeys, credential: pathKey,
		unauthorized: "Event key not found.",
		forbidden:    "This is an API key, not an event key; events are sent with an event key (EVENT_KEYS).",
	}
	api := keyAuth{
		keys: apiKeys, other: slices.Concat(eventKeys, publicKeys), credential: bearerKey, challenge: `Bearer realm="mohallamart"`,
		unauthorized: "A valid API key is required: send Authorization: Bearer <key> with a key from API_KEYS.",
		forbidden:    "An event key can only send events (POST /v1/events, POST /e/{eventKey}); this route needs an API key (API_KEYS).",
	}
	cors := newCORS(s.CORSOrigins)
	keyed := func(a keyAuth, h http.HandlerFunc) http.Handler {
		return s.requireKey(a, s.rateLimit(s.withDBTimeout(h)))
	}
	ingest := func(a keyAuth) http.Handler {
		return cors.wrap(s.requireKey(a, s.publicKeysInPages(cors, s.rateLimit(s.withDBTimeout(s.postEvents)))))
	}
	v1 := func(pattern string, h http.HandlerFunc) route {
		return route{pattern: pattern, auth: authAPI, handler: keyed(api, h)}
	}
	routes = append(routes,
		route{pattern: "POST /v1/events", auth: authEvent, handler: ingest(events), fromPages: true},
		route{pattern: "OPTIONS /v1/events", auth: authNone, handler: cors.preflight()},
		route{pattern: "POST /e/{eventKey}", auth: authPath, handler: ingest(inngest), fromPages: true},
		route{pattern: "OPTIONS /e/{eventKey}", auth: authNone, handler: cors.preflight()},
		v1("GET /v1/events", s.listEvents),
		v1("GET /v1/events/{id}", s.getEvent),
		route{pattern: "GET /v1/schemas", auth: authNone, handler: http.HandlerFunc(s.listSchemas)},
		route{pattern: "GET /v1/schemas/{name...}", auth: authNone, handler: http.HandlerFunc(s.getSchema)},
		route{pattern: "GET /openapi.json", auth: authNone, handler: http.HandlerFunc(serveOpenAPI)},

		v1("POST /v1/users", s.createUser),
		v1("GET /v1/users/{id}", s.getUser),
		v1("PATCH /v1/users/{id}", s.updateUser),
		v1("DELETE /v1/users/{id}", s.deleteUser),
		v1("POST /v1/shops", s.createShop),
		v1("GET /v1/shops/{id}", s.getShop),
		v1("POST /v1/products", s.createProduct),
		v1("GET /v1/products/{id}", s.getProduct),
		v1("PATCH /v1/products/{id}", s.updateProduct),
		v1("DELETE /v1/products/{id}", s.deleteProduct),
		v1("POST /v1/orders", s.placeOrder),
		v1("GET /v1/orders/{id}", s.getOrder),
		v1("PATCH /v1/orders/{id}", s.updateOrder),
		v1("POST /v1/orders/{id}/cancel", s.cancelOrder),
		v1("GET /v1/search/products", s.searchProducts),
	)
	if s.Control != nil {
		// The operator routes (replay, dead letters, pause, cancel and
		// retry); "Replay and dead letters" and "Operator actions" in
		// docs/http-api.md tell how to use them.
		admin := func(pattern string, h http.HandlerFunc) route {
			return route{pattern: pattern, auth: authAdmin, handler: s.requireAdmin(h)}
		}
		routes = append(routes,
			admin("POST /admin/events/replay", s.replayEvents),
			admin("GET /admin/jobs/failed", s.failedJobs),
			admin("POST /admin/jobs/retry", s.retryJobs),
			admin("GET /admin/functions/paused", s.pausedFunctions),
			admin("POST /admin/functions/{id}/pause", s.pauseFunction),
			admin("POST /admin/functions/{id}/resume", s.resumeFunction),
			admin("POST /admin/runs/cancel", s.cancelRuns),
			admin("POST /admin/runs/retry", s.retryRuns),
		)
	}
	if s.Runs != nil {
		// The runs API and the operator's console (docs/console.md): the
		// pages under /admin/, server-rendered. GET /admin/runs and GET
		// /admin/runs/{id} answer JSON, or the page to a browser (Accept:
		// text/html).
		page := func(pattern string, h func(http.ResponseWriter, *http.Request, *consolePages)) route {
			return route{pattern: pattern, auth: authAdmin, handler: s.requireAdmin(s.withDBTimeout(func(w http.ResponseWriter, r *http.Request) {
				h(w, r, s.console)
			}))}
		}
		routes = append(routes,
			page("GET /admin/runs", s.listRuns),
			page("GET /admin/runs/{id}", s.getRun),
			page("GET /admin/{$}", s.consoleEvents),
			page("GET /admin/events/{id}", s.consoleEvent),
			page("GET /admin/functions", s.consoleFunctions),
		)
		if s.Control != nil {
			// The console's actions: forms, each confirmed with its dry
			// run's count, acting through the same control.Service as
			// the action routes above (a POST: other sites' pages are
			// refused).
			routes = append(routes,
				page("GET /admin/actions", s.consoleActions),
				// No DB_TIMEOUT: a bulk action takes as long as it takes.
				route{pattern: "POST /admin/actions/{action}", auth: authAdmin, handler: s.requireAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s.consoleAct(w, r, s.console)
				}))},
			)
		}
	}
	if s.RiverUI != nil {
		// Every method and path under /riverui/: the OpenAPI document
		// describes it as one path (x-path-prefix).
		routes = append(routes, route{pattern: "/riverui/", auth: authAdmin, handler: s.requireAdmin(s.RiverUI)})
	}
	if pages != nil {
		// The development mailbox: GET /dev/mailbox lists every email, SMS
		// and push in deliveries, newest first (?recipient= and ?channel=
		// narrow it), and GET /dev/mailbox/{id} shows one message as its
		// recipient got it.
		routes = append(routes,
			route{pattern: "GET /dev/mailbox", auth: authAdmin, handler: s.requireAdmin(s.withDBTimeout(func(w http.ResponseWriter, r *http.Request) {
				s.mailboxList(w, r, pages)
			}))},
			route{pattern: "GET /dev/mailbox/{id}", auth: authAdmin, handler: s.requireAdmin(s.withDBTimeout(func(w http.ResponseWriter, r *http.Request) {
				s.mailboxMessage(w, r, pages)
			}))},
		)
	}
	return routes
}
