package logctx

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

type captureKey struct{}

// Capture keeps the lines logged with a context (see WithCapture), up to a
// number of lines and of bytes; past either it counts the lines it drops.
// It is safe for concurrent use (a job's steps may log from several
// goroutines).
type Capture struct {
	maxLines, maxBytes int

	mu      sync.Mutex
	lines   []string
	bytes   int
	dropped int
}

// NewCapture returns a Capture that keeps at most maxLines lines and
// maxBytes bytes of them.
func NewCapture(maxLines, maxBytes int) *Capture {
	return &Capture{maxLines: maxLines, maxBytes: maxBytes}
}

// WithCapture returns a copy of ctx whose log lines, written through a
// Handler with a ...Context method, are also kept by c, as the handler
// gets them (with the record's own attributes, not the context's).
func WithCapture(ctx context.Context, c *Capture) context.Context {
	return context.WithValue(ctx, captureKey{}, c)
}

// Lines returns the lines kept and how many were dropped.
func (c *Capture) Lines() (lines []string, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...), c.dropped
}

// add keeps r as one line: "15:04:05.000 INFO message key=value ...".
func (c *Capture) add(r slog.Record) {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format("15:04:05.000"))
	b.WriteByte(' ')
	b.WriteString(r.Level.String())
	b.WriteByte(' ')
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteByte(' ')
		b.WriteString(a.String())
		return true
	})
	line := b.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) >= c.maxLines || c.bytes+len(line) > c.maxBytes {
		c.dropped++
		return
	}
	c.lines = append(c.lines, line)
	c.bytes += len(line)
}

// captureOf returns the Capture of ctx, or nil.
func captureOf(ctx context.Context) *Capture {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(captureKey{}).(*Capture)
	return c
}

// stamp gives a record without a time (slog leaves it zero when asked to)
// the current one, for a captured line.
func stamp(r slog.Record) slog.Record {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	return r
}
