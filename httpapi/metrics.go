package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mohallamart/backend/events"
)

// Bounds of the name label of mohallamart_events_unrouted_total: a custom
// name is its own label value only if it is at most maxUnroutedLabel bytes
// of letters, digits and _ . : / -, and among the first maxUnroutedNames
// such names this process saw; every other counts as otherUnrouted.
const (
	maxUnroutedLabel = 64
	maxUnroutedNames = 50
	otherUnrouted    = "(other)"
)

// Metrics counts HTTP requests and ingested events in a Prometheus registry
// and serves that registry at /metrics.
type Metrics struct {
	registry       *prometheus.Registry
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	eventsIngested *prometheus.CounterVec
	eventsUnrouted *prometheus.CounterVec

	mu sync.Mutex
	// unroutedNames are the custom names that have their own label value.
	unroutedNames map[string]bool
}

// NewMetrics registers the HTTP metrics (mohallamart_http_requests_total,
// mohallamart_http_request_duration_seconds),
// mohallamart_events_ingested_total and mohallamart_events_unrouted_total
// with reg. /metrics serves everything reg gathers, so the caller registers
// the process's other collectors (job metrics, runtime) with reg as well.
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	m := &Metrics{
		registry: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mohallamart_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mohallamart_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		eventsIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mohallamart_events_ingested_total",
			Help: "Events accepted by the event API, by event name (custom names count as \"custom\").",
		}, []string{"name"}),
		eventsUnrouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mohallamart_events_unrouted_total",
			Help: "Events accepted by the event API whose name starts no function, so they trigger nothing, by name (the first 50 short well-formed names; others count as \"(other)\").",
		}, []string{"name"}),
		unroutedNames: make(map[string]bool),
	}
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.eventsIngested, m.eventsUnrouted} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// Handler serves the registry in the Prometheus text format. A failing
// collector (such as a backlog query while the database is down) leaves its
// series out instead of failing the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// observeRequest counts one answered request.
func (m *Metrics) observeRequest(route string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// observeEvents counts accepted events by name (custom names as
// "custom"), and those whose name starts no function (routed) as
// unrouted.
func (m *Metrics) observeEvents(evs []events.Event, routed func(name string) bool) {
	for _, ev := range evs {
		name := ev.Name
		if !events.Known(name) {
			name = "custom" // custom names are unbounded; keep the label set small
		}
		if !routed(ev.Name) {
			m.eventsUnrouted.WithLabelValues(m.unroutedLabel(ev.Name)).Inc()
		}
		m.eventsIngested.WithLabelValues(name).Inc()
	}
}

// unroutedLabel is the name label of an unrouted event called name: the
// name itself while the label set stays small, otherUnrouted past that.
func (m *Metrics) unroutedLabel(name string) string {
	if !labelSafe(name) {
		return otherUnrouted
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.unroutedNames[name] {
		if len(m.unroutedNames) >= maxUnroutedNames {
			return otherUnrouted
		}
		m.unroutedNames[name] = true
	}
	return name
}

// labelSafe reports whether name is short and made of letters, digits and
// _ . : / - only.
func labelSafe(name string) bool {
	if name == "" || len(name) > maxUnroutedLabel {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("_.:/-", c) >= 0:
		default:
			return false
		}
	}
	return true
}
