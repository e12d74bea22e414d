package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracing is the server's OpenTelemetry wiring: an HTTP server span per
// request, a river.insert_many span where jobs are enqueued, and a
// river.work span per job attempt, all in the trace of the request that
// published the event. The zero value is off: no exporter, no middleware.
type tracing struct {
	// tp is nil when tracing is off.
	tp trace.TracerProvider
}

// newTracing exports traces over OTLP/HTTP when an OTLP endpoint is
// configured (the exporter reads every OTEL_EXPORTER_OTLP_* variable
// itself) and is off otherwise. The returned function flushes and stops the
// exporter.
func newTracing(ctx context.Context, cfg Config) (tracing, func(context.Context) error, error) {
	if !cfg.Tracing {
		return tracing{}, func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return tracing{}, nil, fmt.Errorf("create OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", cfg.ServiceName)))
	if err != nil {
		return tracing{}, nil, fmt.Errorf("describe trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	shutdown := func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("flush traces: %w", err)
		}
		return nil
	}
	return tracing{tp: tp}, shutdown, nil
}

// jobMiddleware returns the River middleware that traces job inserts and
// attempts (none when tracing is off). otelriver writes the inserting
// span's W3C traceparent into each job's metadata; jobParent, which runs
// first, makes that span the parent of each attempt's span, so an attempt
// joins the request's trace (otelriver alone would only link to it).
func (t tracing) jobMiddleware() []rivertype.Middleware {
	if t.tp == nil {
		return nil
	}
	return []rivertype.Middleware{
		&jobParent{},
		otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			EnableTracePropagation:      true,
			EnableWorkSpanJobKindSuffix: true,
			TracerProvider:              t.tp,
			MeterProvider:               metricnoop.NewMeterProvider(), // metrics are Prometheus's (GET /metrics)
		}),
	}
}

// handler wraps h in an HTTP server span (h unchanged when tracing is off).
// A traceparent header sent by the caller continues the caller's trace.
func (t tracing) handler(h http.Handler) http.Handler {
	if t.tp == nil {
		return h
	}
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// jobParent makes the span recorded in a job's metadata (traceparent, put
// there at insert) the parent of the job's work.
type jobParent struct {
	river.MiddlewareDefaults
}

// Work runs the job with the inserting span as its remote parent, when the
// metadata carries one.
func (*jobParent) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var meta map[string]any
	if len(job.Metadata) == 0 || json.Unmarshal(job.Metadata, &meta) != nil {
		return doInner(ctx)
	}
	carrier := propagation.MapCarrier{}
	for _, k := range (propagation.TraceContext{}).Fields() {
		if s, ok := meta[k].(string); ok {
			carrier[k] = s
		}
	}
	return doInner(propagation.TraceContext{}.Extract(ctx, carrier))
}
