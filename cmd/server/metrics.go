package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/internal/jobmetrics"
)

// newMetrics builds the one Prometheus registry served at /metrics: the Go
// runtime and process collectors, the HTTP metrics and the job metrics
// (whose backlog collector reads river_job through database). It returns
// the HTTP metrics (for httpapi.Opts, which serve the registry) and the job
// metrics (to feed with ObserveJobs in processes that work jobs).
func newMetrics(database db.DBTX) (*httpapi.Metrics, *jobmetrics.Metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, fmt.Errorf("register Go runtime metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, fmt.Errorf("register process metrics: %w", err)
	}
	jm, err := jobmetrics.Register(reg, database)
	if err != nil {
		return nil, nil, err
	}
	hm, err := httpapi.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	return hm, jm, nil
}
