package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// percentile returns the p-th percentile (0 ≤ p ≤ 100) of values by linear
// interpolation between the closest ranks, or NaN when values is empty.
// values need not be sorted and is not modified.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	s := slices.Clone(values)
	slices.Sort(s)
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[len(s)-1]
	}
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return s[lo] + (s[hi]-s[lo])*(rank-float64(lo))
}

// median is the 50th percentile of values (NaN when empty).
func median(values []float64) float64 { return percentile(values, 50) }

// spread is the minimum, median and maximum of one figure's repeats.
type spread struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// spreadOf summarises values; every field is NaN when values is empty.
func spreadOf(values []float64) spread {
	return spread{Min: percentile(values, 0), Median: median(values), Max: percentile(values, 100)}
}

// latencies collects request or job latencies from many goroutines.
type latencies struct {
	mu sync.Mutex
	ms []float64
}

// add records one latency.
func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ms = append(l.ms, float64(d)/float64(time.Millisecond))
	l.mu.Unlock()
}

// millis returns the recorded latencies in milliseconds.
func (l *latencies) millis() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ms)
}

// mib converts bytes to MiB.
func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// perSecond is n events over d, or 0 when d is not positive.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
