package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Metrics holds the server's Prometheus metrics in a registry of its own.
// Serve them with Handler; feed the job metrics with ObserveJobs.
type Metrics struct {
	registry       *prometheus.Registry
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	eventsIngested *prometheus.CounterVec
	jobs           *prometheus.CounterVec
	jobRunTime     *prometheus.HistogramVec
}

// NewMetrics registers the HTTP, event and job metrics, the Go runtime and
// process collectors, and a backlog collector that asks database for the
// available jobs per queue at each scrape.
func NewMetrics(database db.DBTX) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
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
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mohallamart_jobs_total",
			Help: "Job attempts finished by this process, by kind and outcome: completed, failed (the attempt errored; it is retried unless discarded), cancelled, discarded (no attempts left).",
		}, []string{"kind", "outcome"}),
		jobRunTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mohallamart_job_run_duration_seconds",
			Help:    "Time a job attempt spent in its worker, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
	}
	m.registry.MustRegister(
		m.httpRequests, m.httpDuration, m.eventsIngested, m.jobs, m.jobRunTime,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBacklogCollector(database),
	)
	return m
}

// Handler serves the metrics in the Prometheus text format. A failing
// backlog query leaves those series out instead of failing the scrape.
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

// ObserveJobs subscribes to client's job events and counts them until ctx
// is done or the client stops. Only a client that works jobs produces them;
// run it in its own goroutine.
func (m *Metrics) ObserveJobs(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) {
	ch, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if ev.Job == nil {
				continue
			}
			kind := ev.Job.Kind
			switch ev.Kind {
			case river.EventKindJobCompleted:
				m.jobs.WithLabelValues(kind, "completed").Inc()
			case river.EventKindJobCancelled:
				m.jobs.WithLabelValues(kind, "cancelled").Inc()
			case river.EventKindJobFailed:
				m.jobs.WithLabelValues(kind, "failed").Inc()
				if ev.Job.State == rivertype.JobStateDiscarded {
					m.jobs.WithLabelValues(kind, "discarded").Inc()
				}
			default:
				logger.DebugContext(ctx, "Unexpected River event", slog.String("kind", string(ev.Kind)))
				continue
			}
			if ev.JobStats != nil {
				m.jobRunTime.WithLabelValues(kind).Observe(ev.JobStats.RunDuration.Seconds())
			}
		}
	}
}

// backlogCollector reports the available jobs per queue and the age of the
// oldest, read from river_job at scrape time.
type backlogCollector struct {
	db        db.DBTX
	available *prometheus.Desc
	age       *prometheus.Desc
}

func newBacklogCollector(database db.DBTX) *backlogCollector {
	return &backlogCollector{
		db: database,
		available: prometheus.NewDesc("mohallamart_jobs_available",
			"Jobs waiting to be worked, by queue.", []string{"queue"}, nil),
		age: prometheus.NewDesc("mohallamart_jobs_oldest_available_age_seconds",
			"How long the oldest available job of each queue has been waiting.", []string{"queue"}, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.available
	ch <- c.age
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := db.New(c.db).JobBacklogByQueue(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.available, err)
		return
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, float64(r.Available), r.Queue)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(r.OldestAgeSeconds, 0), r.Queue)
	}
}
