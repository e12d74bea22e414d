package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// api is an HTTP client of one server, sending as Bearer the event key to
// POST /v1/events and the API key to the REST routes.
type api struct {
	base     string
	eventKey string
	apiKey   string
	http     *http.Client
}

// newAPI returns a client of the server at base with connections for many
// concurrent requests.
func newAPI(base, eventKey, apiKey string) *api {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
	return &api{base: base, eventKey: eventKey, apiKey: apiKey, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// close drops the client's idle connections.
func (a *api) close() { a.http.CloseIdleConnections() }

// do sends body (JSON, if not nil) and decodes a 2xx answer into out (if
// not nil). It returns the status; err is a transport or decoding error, or
// a non-2xx answer when out is not nil.
func (a *api) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	key := a.apiKey
	if method == http.MethodPost && path == "/v1/events" {
		key = a.eventKey
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// loadStats counts the answers and latencies of one load phase.
type loadStats struct {
	lat    latencies // of 2xx answers
	latAll latencies // of every answer (not transport errors)

	mu       sync.Mutex
	statuses map[int]int // 0: transport error
	firstErr string
	missed   int // open loop: requests not sent because maxInFlight were still running
	start    time.Time
	end      time.Time // when the last request was sent
}

func newLoadStats() *loadStats { return &loadStats{statuses: map[int]int{}} }

// record counts one request and its latency.
func (s *loadStats) record(status int, err error, d time.Duration) {
	if status/100 == 2 {
		s.lat.add(d)
	}
	if status != 0 {
		s.latAll.add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		status = 0
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
	}
	s.statuses[status]++
}

// ok is the number of 2xx answers.
func (s *loadStats) ok() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for st, c := range s.statuses {
		if st/100 == 2 {
			n += c
		}
	}
	return n
}

// count is the number of answers with status (0: transport errors).
func (s *loadStats) count(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statuses[status]
}

// failed is the number of requests that did not get a 2xx answer.
func (s *loadStats) failed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for st, c := range s.statuses {
		if st/100 != 2 {
			n += c
		}
	}
	return n
}

// describeFailures says which non-2xx answers came, e.g. "503×12, 0
// (transport)×1; first error: ...", or "" when all were 2xx.
func (s *loadStats) describeFailures() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(s.statuses)) {
		if st/100 == 2 {
			continue
		}
		name := fmt.Sprint(st)
		if st == 0 {
			name = "transport error"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, s.statuses[st]))
	}
	if len(parts) == 0 {
		return ""
	}
	out := strings.Join(parts, ", ")
	if s.firstErr != "" {
		out += "; first error: " + truncate(s.firstErr, 200)
	}
	return out
}

// request is one request of a load phase: it returns the answer's status.
type request func(ctx context.Context, seq int) (int, error)

// closedLoop runs clients goroutines, each sending req back to back, for
// dur; it returns once every request has been answered.
func closedLoop(ctx context.Context, clients int, dur time.Duration, req request) *loadStats {
	s := newLoadStats()
	s.start = time.Now()
	deadline := s.start.Add(dur)
	var wg sync.WaitGroup
	var seqMu sync.Mutex
	seq := 0
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				seqMu.Lock()
				n := seq
				seq++
				seqMu.Unlock()
				t0 := time.Now()
				status, err := req(ctx, n)
				s.record(status, err, time.Since(t0))
			}
		})
	}
	wg.Wait()
	s.end = deadline
	return s
}

// openLoop sends req at a fixed rate (per second) for dur, whatever the
// answers' latency, with at most maxInFlight requests outstanding; a
// request due while maxInFlight are outstanding is not sent and counted as
// missed. It returns once every request has been answered.
func openLoop(ctx context.Context, rate float64, dur time.Duration, maxInFlight int, req request) *loadStats {
	s := newLoadStats()
	s.start = time.Now()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; ; i++ {
		at := s.start.Add(time.Duration(i) * interval)
		if at.Sub(s.start) >= dur || ctx.Err() != nil {
			break
		}
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case sem <- struct{}{}:
		default:
			s.mu.Lock()
			s.missed++
			s.mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			status, err := req(ctx, i)
			s.record(status, err, time.Since(t0))
		})
	}
	s.end = time.Now()
	wg.Wait()
	return s
}

// truncate shortens s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// sendAll sends n requests (seq 0 to n-1) from clients closed-loop
// clients and returns once every request has been answered.
func sendAll(ctx context.Context, clients, n int, req request) *loadStats {
	s := newLoadStats()
	s.start = time.Now()
	_ = parallel(ctx, clients, n, func(ctx context.Context, seq int) error {
		t0 := time.Now()
		status, err := req(ctx, seq)
		s.record(status, err, time.Since(t0))
		return nil
	})
	s.end = time.Now()
	return s
}
