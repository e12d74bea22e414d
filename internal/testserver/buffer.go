package testserver

import (
	"bytes"
	"regexp"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writers (a process's
// output goroutines, a logger's) that tells waiters when it grows. The
// zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed, and replaced, by each Write
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p) //nolint:wrapcheck // bytes.Buffer's
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Match returns re's first match's submatches in what was written so far,
// and a channel closed at the next write.
func (b *Buffer) Match(re *regexp.Regexp) ([]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return re.FindStringSubmatch(b.buf.String()), b.next()
}

// MatchAll returns the submatches of every match of re so far, and a
// channel closed at the next write.
func (b *Buffer) MatchAll(re *regexp.Regexp) ([][]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return re.FindAllStringSubmatch(b.buf.String(), -1), b.next()
}

// next is the channel the next Write closes; b.mu is held.
func (b *Buffer) next() chan struct{} {
	if b.written == nil {
		b.written = make(chan struct{})
	}
	return b.written
}
