package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mohallamart/backend/events"
)

// Metrics counts HTTP requests and ingested events in a Prometheus registry
// and serves that registry at /metrics.
type Metrics struct {
	registry       *prometheus.Registry
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	eventsIngested *prometheus.CounterVec
}

// NewMetrics registers the HTTP metrics (mohallamart_http_requests_total,
// mohallamart_http_request_duration_seconds) and
// mohallamart_events_ingested_total with reg. /metrics serves everything
// reg gathers, so the caller registers the process's other collectors (job
// metrics, runtime) with reg as well.
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
	}
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.eventsIngested} {
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

// observeEvents counts accepted events by name.
func (m *Metrics) observeEvents(evs []events.Event) {
	for _, ev := range evs {
		name := ev.Name
		if !events.Known(name) {
			name = "custom" // custom names are unbounded; keep the label set small
		}
		m.eventsIngested.WithLabelValues(name).Inc()
	}
}
