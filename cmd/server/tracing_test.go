package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/httpapi"
	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
	"github.com/mohallamart/backend/search"
)

// TestTraceFollowsEventIntoJob wires tracing as serve does (the HTTP
// handler, a working River client with the real workers) with an in-memory
// exporter, posts a user/created event to /e/{eventKey} and checks that
// one trace holds the request, the insert of its job in the request's
// transaction and the job's attempt, and that no span shows the key.
func TestTraceFollowsEventIntoJob(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	logger := slog.New(slog.DiscardHandler)
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	tr := tracing{tp: tp}
	const eventKey = "ek-secret-7f3a"

	cfg, err := loadConfig(envFunc())
	require.NoError(t, err)
	js, err := buildJobs(ctx, cfg, pool, logger, nil)
	require.NoError(t, err)
	riverCfg := &river.Config{
		Logger:     logger,
		Middleware: append([]rivertype.Middleware{&logctx.JobMiddleware{}}, tr.jobMiddleware()...),
		Queues:     jobs.Queues(cfg.QueueWorkers, cfg.FetchCooldown, cfg.FetchPoll),
	}
	js.apply(riverCfg)
	client, err := river.NewClient(riverpgxv5.New(pool), riverCfg)
	require.NoError(t, err)
	completed, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { _ = client.Stop(ctx) })

	httpMetrics, _, err := newMetrics(pool)
	require.NoError(t, err)
	migrator, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { _ = migrator.Close() })
	ob := outbox.New(client, js.registry)
	handler, err := httpapi.NewHandler(httpapi.Opts{
		Logger: logger, DB: pool, Migrator: migrator, Metrics: httpMetrics,
		Outbox: ob, Mart: mart.NewService(pool, ob), Search: search.NewPostgres(pool),
		EventKeys: []string{eventKey}, APIKeys: []string{"api-key"}, AdminUser: "ops", AdminPassword: "ops-password",
	})
	require.NoError(t, err)
	srv := httptest.NewServer(tr.handler(handler))
	t.Cleanup(srv.Close)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/e/"+eventKey, strings.NewReader(
		`{"name":"user/created","id":"signup-42","data":{"userId":"u42","email":"asha@example.com","name":"Asha"}}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	for ev := range completed {
		if ev.Job.Kind == "send_welcome_email" {
			require.Equal(t, river.EventKindJobCompleted, ev.Kind, "the welcome email job failed: %v", ev.Job.Errors)
			break
		}
	}

	// River's periodic enqueuer inserts the scheduled functions' runs
	// through the same middleware, in traces of their own, so a span is
	// picked by its name and, for the insert, by its parent.
	spans := exporter.GetSpans()
	find := func(name string, parent trace.SpanID) tracetest.SpanStub {
		t.Helper()
		var names []string
		for _, s := range spans {
			if s.Name == name && (!parent.IsValid() || s.Parent.SpanID() == parent) {
				return s
			}
			names = append(names, s.Name)
		}
		require.Failf(t, "span not exported", "no span %q (parent %s) among %q", name, parent, names)
		return tracetest.SpanStub{}
	}
	request := find("POST /e/{eventKey}", trace.SpanID{})
	insert := find("river.insert_many", request.SpanContext.SpanID()) // the insert runs inside the request
	work := find("river.work/send_welcome_email", trace.SpanID{})

	require.Equal(t, trace.SpanKindServer, request.SpanKind)
	require.False(t, request.Parent.IsValid(), "the request starts the trace")
	traceID := request.SpanContext.TraceID()
	require.Equal(t, traceID, insert.SpanContext.TraceID(), "the job is inserted in the request's trace")
	require.Equal(t, traceID, work.SpanContext.TraceID(), "the job's attempt is in the request's trace")
	require.Equal(t, insert.SpanContext.SpanID(), work.Parent.SpanID(), "the attempt's parent is the insert")
	require.Len(t, work.Links, 1)
	require.Equal(t, insert.SpanContext.SpanID(), work.Links[0].SpanContext.SpanID(), "the attempt links to the insert")
	require.Equal(t, trace.SpanKindConsumer, work.SpanKind)

	// The event key in the path is a secret: no span carries it.
	for _, s := range spans {
		require.NotContains(t, s.Name, eventKey)
		for _, kv := range s.Attributes {
			require.NotContains(t, kv.Value.String(), eventKey, "span %s, attribute %s", s.Name, kv.Key)
		}
	}
}

// TestTracingOff checks that without an OTLP endpoint tracing adds nothing:
// no River middleware and the HTTP handler as it is.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envFunc())
	require.NoError(t, err)
	require.False(t, cfg.Tracing)
	require.Equal(t, "mohallamart", cfg.ServiceName)
	tr, stop, err := newTracing(t.Context(), cfg)
	require.NoError(t, err)
	require.NoError(t, stop(t.Context()))
	require.Empty(t, tr.jobMiddleware())
	h := http.NewServeMux()
	require.Same(t, h, tr.handler(h))

	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		cfg, err := loadConfig(envFunc(name, "http://127.0.0.1:4318"))
		require.NoError(t, err)
		require.True(t, cfg.Tracing, name)
	}
}

// TestTracingExportsOverOTLP runs newTracing against a fake collector that
// speaks OTLP/HTTP: the endpoint comes from OTEL_EXPORTER_OTLP_ENDPOINT,
// read by the exporter itself, and a finished span reaches the collector
// with the configured service name once tracing is stopped. Not parallel:
// it sets the process environment.
func TestTracingExportsOverOTLP(t *testing.T) {
	received := make(chan *coltracepb.ExportTraceServiceRequest, 1)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/traces" || err != nil {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		received <- &req
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	cfg, err := loadConfig(envFunc("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL, "OTEL_SERVICE_NAME", "mohallamart-test"))
	require.NoError(t, err)
	require.True(t, cfg.Tracing)
	tr, stop, err := newTracing(t.Context(), cfg)
	require.NoError(t, err)
	require.Len(t, tr.jobMiddleware(), 2)
	_, span := tr.tp.Tracer("test").Start(t.Context(), "checkout")
	span.End()
	require.NoError(t, stop(t.Context()))

	req := <-received
	require.Len(t, req.ResourceSpans, 1)
	var service string
	for _, kv := range req.ResourceSpans[0].Resource.Attributes {
		if kv.Key == "service.name" {
			service = kv.Value.GetStringValue()
		}
	}
	require.Equal(t, "mohallamart-test", service)
	require.Len(t, req.ResourceSpans[0].ScopeSpans, 1)
	require.Len(t, req.ResourceSpans[0].ScopeSpans[0].Spans, 1)
	require.Equal(t, "checkout", req.ResourceSpans[0].ScopeSpans[0].Spans[0].Name)
}
