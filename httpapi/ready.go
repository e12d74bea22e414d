package httpapi

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// readinessCollector reports mohallamart_ready at scrape time: 1 when
// /readyz would answer 200, 0 when it would answer 503. It lets an alert
// see a process that runs (its scrape succeeds) but cannot serve.
type readinessCollector struct {
	desc    *prometheus.Desc
	unready func(context.Context) string
}

// registerReadiness adds mohallamart_ready, computed by unready (the
// reason /readyz gives, "" when ready), to the registry m serves.
func (m *Metrics) registerReadiness(unready func(context.Context) string) error {
	c := &readinessCollector{
		desc: prometheus.NewDesc("mohallamart_ready",
			"Whether this process can serve, as /readyz says: 1 when the database answers and no migration is pending, 0 otherwise.", nil, nil),
		unready: unready,
	}
	if err := m.registry.Register(c); err != nil {
		return fmt.Errorf("register readiness metric: %w", err)
	}
	return nil
}

// Describe sends the gauge's descriptor.
func (c *readinessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect checks readiness (bounded by DBTimeout) and sends the gauge.
func (c *readinessCollector) Collect(ch chan<- prometheus.Metric) {
	ready := 1.0
	if c.unready(context.Background()) != "" {
		ready = 0
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, ready)
}
