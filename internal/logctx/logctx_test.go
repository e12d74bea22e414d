package logctx_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/logctx"
)

func TestHandlerAddsContextAttrs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(logctx.NewHandler(slog.NewTextHandler(&buf, nil))).With("service", "test")
	ctx := logctx.With(t.Context(), slog.Int64("job_id", 42))
	ctx = logctx.With(ctx, slog.String("job_kind", "send_welcome_email"))

	logger.InfoContext(ctx, "Working")
	require.Contains(t, buf.String(), "service=test")
	require.Contains(t, buf.String(), "job_id=42 job_kind=send_welcome_email")

	buf.Reset()
	logger.InfoContext(t.Context(), "Plain")
	require.NotContains(t, buf.String(), "job_id")
}
