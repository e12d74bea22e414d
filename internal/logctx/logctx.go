// Package logctx carries log attributes in a context.Context so that every
// log line written with a ...Context method names the request or job it
// belongs to (request_id on HTTP requests, job_id and job_kind in workers)
// without each caller passing them along.
package logctx

import (
	"context"
	"log/slog"
)

type attrsKey struct{}

// With returns a copy of ctx whose log lines also carry attrs, after any
// attributes ctx already carries.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	all := make([]slog.Attr, 0, len(prev)+len(attrs))
	all = append(append(all, prev...), attrs...)
	return context.WithValue(ctx, attrsKey{}, all)
}

// Attrs returns the attributes With stored in ctx.
func Attrs(ctx context.Context) []slog.Attr {
	attrs, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	return attrs
}

// Handler is a slog.Handler that adds the attributes of a record's context
// (see With) before handing it to the wrapped handler.
type Handler struct {
	inner slog.Handler
}

// NewHandler wraps inner.
func NewHandler(inner slog.Handler) *Handler { return &Handler{inner: inner} }

// Enabled reports whether the wrapped handler handles level, or ctx has a
// Capture (WithCapture) and level is Info or above: a run's lines are kept
// at Info whatever the logger's level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level) || (level >= slog.LevelInfo && captureOf(ctx) != nil)
}

// Handle adds the context's attributes to r and passes it on; a context
// with a Capture (WithCapture) also keeps the line.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if c := captureOf(ctx); c != nil {
		if r.Level >= slog.LevelInfo {
			c.add(stamp(r))
		}
		if !h.inner.Enabled(ctx, r.Level) {
			return nil
		}
	}
	if attrs := Attrs(ctx); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a Handler whose wrapped handler has attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(attrs)}
}

// WithGroup returns a Handler whose wrapped handler opens group.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name)}
}
