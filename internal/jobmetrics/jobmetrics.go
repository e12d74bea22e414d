// Package jobmetrics exports Prometheus metrics about River jobs: the job
// attempts this process finished, by kind and outcome, and how long each
// spent in its worker (fed from the River client's job events), and the
// backlog of every queue, read from river_job at scrape time.
//
// The caller owns the registry: Register adds the metrics to the
// prometheus.Registerer it is given, which cmd/server serves at /metrics
// together with the HTTP metrics.
package jobmetrics

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
)

// backlogTimeout bounds the backlog query of one scrape.
const backlogTimeout = 5 * time.Second

// Metrics counts finished job attempts; feed it with ObserveJobs.
type Metrics struct {
	jobs    *prometheus.CounterVec
	runTime *prometheus.HistogramVec
	dropped *prometheus.CounterVec
}

// Register registers with reg the job counters
// (mohallamart_jobs_total, mohallamart_job_run_duration_seconds) and a
// backlog collector (mohallamart_jobs_available,
// mohallamart_jobs_oldest_available_age_seconds) that queries database at
// each scrape. A failing backlog query reports an invalid metric; serve reg
// with promhttp.ContinueOnError to leave those series out instead of failing
// the scrape.
func Register(reg prometheus.Registerer, database db.DBTX) (*Metrics, error) {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mohallamart_jobs_total",
			Help: "Job attempts finished by this process, by kind and outcome: completed, failed (the attempt errored; it is retried unless discarded), cancelled, discarded (no attempts left).",
		}, []string{"kind", "outcome"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mohallamart_job_run_duration_seconds",
			Help:    "Time a job attempt spent in its worker, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mohallamart_runs_dropped_total",
			Help: "Runs a function's rateLimit dropped in this process, by function: they completed without running.",
		}, []string{"function"}),
	}
	for _, c := range []prometheus.Collector{m.jobs, m.runTime, m.dropped, newBacklogCollector(database)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register job metrics: %w", err)
		}
	}
	return m, nil
}

// RunDropped counts a run of function that its rateLimit dropped (the
// Dropped hook of fn.Runtime).
func (m *Metrics) RunDropped(function string) { m.dropped.WithLabelValues(function).Inc() }

// ExpectDrops exports mohallamart_runs_dropped_total at 0 for functions
// (those with a rateLimit) before any run is dropped, so a rate over it
// reads 0 rather than nothing.
func (m *Metrics) ExpectDrops(functions ...string) {
	for _, f := range functions {
		m.dropped.WithLabelValues(f)
	}
}

// ObserveJobs subscribes to client's job events at once and counts them in
// a goroutine of its own until ctx is done or the client stops. Call it
// before client.Start so that no finished job goes uncounted; the client
// must work jobs (have Queues and Workers). The returned channel is closed
// when the goroutine returns, after counting every event the client
// delivered before it stopped.
func (m *Metrics) ObserveJobs(ctx context.Context, client *river.Client[pgx.Tx]) <-chan struct{} {
	ch, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				m.observe(ev)
			}
		}
	}()
	return done
}

// observe counts one job event.
func (m *Metrics) observe(ev *river.Event) {
	if ev.Job == nil {
		return
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
		return // not subscribed
	}
	if ev.JobStats != nil {
		m.runTime.WithLabelValues(kind).Observe(ev.JobStats.RunDuration.Seconds())
	}
}

// backlogCollector reports the available jobs per queue and the age of the
// oldest, read from river_job at scrape time.
type backlogCollector struct {
	db        db.DBTX
	available *prometheus.Desc
	age       *prometheus.Desc
	leader    *prometheus.Desc
}

func newBacklogCollector(database db.DBTX) *backlogCollector {
	return &backlogCollector{
		db: database,
		available: prometheus.NewDesc("mohallamart_jobs_available",
			"Jobs waiting to be worked, by queue.", []string{"queue"}, nil),
		age: prometheus.NewDesc("mohallamart_jobs_oldest_available_age_seconds",
			"How long the oldest available job of each queue has been waiting.", []string{"queue"}, nil),
		leader: prometheus.NewDesc("mohallamart_river_leader",
			"1 when a River leader holds its lease (it inserts the scheduled runs and rescues stuck jobs), 0 when none does.", nil, nil),
	}
}

// Describe sends the collector's descriptors.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.available
	ch <- c.age
	ch <- c.leader
}

// Collect queries the backlog and sends one sample of each metric per
// queue, or an invalid metric when the query fails.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	q := db.New(c.db)
	elected, err := q.RiverLeaderElected(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.leader, fmt.Errorf("query River leader: %w", err))
	} else {
		v := 0.0
		if elected {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.leader, prometheus.GaugeValue, v)
	}
	rows, err := q.JobBacklogByQueue(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.available, fmt.Errorf("query job backlog: %w", err))
		return
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, float64(r.Available), r.Queue)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(r.OldestAgeSeconds, 0), r.Queue)
	}
}
