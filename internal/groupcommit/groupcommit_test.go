package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder is a Batcher's writes: many and one double a request, one
// fails for the requests in fail, and the first write waits for release.
type recorder struct {
	mu      sync.Mutex
	batches [][]int // what many was given, in order
	ones    []int   // what one was given, in order
	manyErr error
	fail    map[int]bool
	release chan struct{}
	held    chan struct{} // closed when the first write is waiting for release
	holding bool          // the first write has begun
}

func newRecorder() *recorder {
	return &recorder{release: make(chan struct{}), held: make(chan struct{}), fail: map[int]bool{}}
}

func (r *recorder) hold() {
	r.mu.Lock()
	first := !r.holding
	r.holding = true
	r.mu.Unlock()
	if first {
		close(r.held)
		<-r.release
	}
}

func (r *recorder) many(_ context.Context, reqs []int) ([]int, error) {
	r.hold()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, append([]int(nil), reqs...))
	if r.manyErr != nil {
		return nil, r.manyErr
	}
	out := make([]int, len(reqs))
	for i, q := range reqs {
		out[i] = 2 * q
	}
	return out, nil
}

func (r *recorder) one(_ context.Context, req int) (int, error) {
	r.hold()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ones = append(r.ones, req)
	if r.fail[req] {
		return 0, fmt.Errorf("request %d cannot be written", req)
	}
	return 2 * req, nil
}

// queued waits until n requests wait in b's queue (behind the write that
// holds the lead).
func queued(b *Batcher[int, int], n int) {
	for {
		b.mu.Lock()
		l := len(b.queue)
		b.mu.Unlock()
		if l >= n {
			return
		}
		runtime.Gosched()
	}
}

// start runs Do(req) for each of reqs in its own goroutine and returns
// their results, by request, once all have returned.
func start(ctx context.Context, b *Batcher[int, int], reqs ...int) func() map[int]error {
	type result struct {
		req, res int
		err      error
	}
	out := make(chan result, len(reqs))
	for _, q := range reqs {
		go func() {
			res, err := b.Do(ctx, q)
			if err == nil && res != 2*q {
				err = fmt.Errorf("request %d got %d", q, res)
			}
			out <- result{q, res, err}
		}()
	}
	return func() map[int]error {
		errs := map[int]error{}
		for range reqs {
			r := <-out
			errs[r.req] = r.err
		}
		return errs
	}
}

// TestRequestsThatWaitAreWrittenTogether: a request alone is written at
// once, alone (one); the requests that arrive while it is written wait and
// are written as one batch (many), each getting its own result.
func TestRequestsThatWaitAreWrittenTogether(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	b := New(10, r.many, r.one)
	first := start(t.Context(), b, 1)
	<-r.held
	rest := start(t.Context(), b, 2, 3, 4, 5)
	queued(b, 4)
	close(r.release)
	require.Equal(t, map[int]error{1: nil}, first())
	require.Equal(t, map[int]error{2: nil, 3: nil, 4: nil, 5: nil}, rest())
	require.Equal(t, []int{1}, r.ones)
	require.Len(t, r.batches, 1)
	require.ElementsMatch(t, []int{2, 3, 4, 5}, r.batches[0])
}

// TestBatchesAreBounded: no batch holds more than max requests; the rest
// are the next batch.
func TestBatchesAreBounded(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	b := New(3, r.many, r.one)
	first := start(t.Context(), b, 1)
	<-r.held
	rest := start(t.Context(), b, 2, 3, 4, 5, 6)
	queued(b, 5)
	close(r.release)
	first()
	for q, err := range rest() {
		require.NoError(t, err, "request %d", q)
	}
	require.Len(t, r.batches, 2)
	require.Len(t, r.batches[0], 3)
	require.Len(t, r.batches[1], 2)
}

// TestFailedBatchIsWrittenOneByOne: when a batch's statement fails, each
// of its requests is written alone, so only the one that cannot be written
// fails.
func TestFailedBatchIsWrittenOneByOne(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	r.manyErr = errors.New("duplicate key")
	r.fail[3] = true
	b := New(10, r.many, r.one)
	first := start(t.Context(), b, 1)
	<-r.held
	rest := start(t.Context(), b, 2, 3, 4)
	queued(b, 3)
	close(r.release)
	first()
	errs := rest()
	require.NoError(t, errs[2])
	require.EqualError(t, errs[3], "request 3 cannot be written")
	require.NoError(t, errs[4])
	require.ElementsMatch(t, []int{1, 2, 3, 4}, r.ones)
}

// TestWaitingRequestLeavesWhenItsContextEnds: a request whose context ends
// while it waits returns the context's error and is not written; the
// others are.
func TestWaitingRequestLeavesWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	b := New(10, r.many, r.one)
	first := start(t.Context(), b, 1)
	<-r.held
	ctx, cancel := context.WithCancel(t.Context())
	leaving := start(ctx, b, 2)
	queued(b, 1)
	cancel()
	require.ErrorIs(t, leaving()[2], context.Canceled)
	rest := start(t.Context(), b, 3, 4)
	queued(b, 2)
	close(r.release)
	first()
	require.Equal(t, map[int]error{3: nil, 4: nil}, rest())
	require.Len(t, r.batches, 1)
	require.ElementsMatch(t, []int{3, 4}, r.batches[0])
	require.NotContains(t, r.ones, 2)
}

// TestPanickingWriteFailsOnlyItsRequest: a batch whose write panics is
// written again one request at a time; the request whose write panics
// fails with an error, the others are written, and the Batcher goes on
// writing later requests.
func TestPanickingWriteFailsOnlyItsRequest(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	b := New(10,
		func(context.Context, []int) ([]int, error) { panic("many") },
		func(ctx context.Context, req int) (int, error) {
			if req == 3 {
				panic("one")
			}
			return r.one(ctx, req)
		})
	first := start(t.Context(), b, 1)
	<-r.held
	rest := start(t.Context(), b, 2, 3, 4)
	queued(b, 3)
	close(r.release)
	require.Equal(t, map[int]error{1: nil}, first())
	errs := rest()
	require.NoError(t, errs[2])
	require.ErrorIs(t, errs[3], errPanicked)
	require.NoError(t, errs[4])
	res, err := b.Do(t.Context(), 5)
	require.NoError(t, err, "the Batcher still writes")
	require.Equal(t, 10, res)
}

// TestNilOneWritesAloneWithMany: without one, a request alone is written
// by many as a batch of one, and its result comes back.
func TestNilOneWritesAloneWithMany(t *testing.T) {
	var batches [][]int
	b := New(8, func(_ context.Context, reqs []int) ([]string, error) {
		batches = append(batches, reqs)
		out := make([]string, len(reqs))
		for i, r := range reqs {
			out[i] = fmt.Sprint(r * 2)
		}
		return out, nil
	}, nil)
	res, err := b.Do(t.Context(), 21)
	require.NoError(t, err)
	require.Equal(t, "42", res)
	require.Equal(t, [][]int{{21}}, batches)
}

// TestByPlace: results go to the places their rows name, counted from 1;
// a place no row names is the zero value; a place out of range is an error.
func TestByPlace(t *testing.T) {
	type row struct {
		place int64
		v     string
	}
	place := func(r *row) int64 { return r.place }
	got, err := ByPlace(3, []*row{{3, "c"}, {1, "a"}}, place)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, "a", got[0].v)
	require.Nil(t, got[1])
	require.Equal(t, "c", got[2].v)
	_, err = ByPlace(2, []*row{{3, "c"}}, place)
	require.ErrorContains(t, err, "place 3 of 2")
}

// gated is a reads Batcher whose reads each report their batch and wait
// for a release, then double each request.
type gated struct {
	calls   chan []int
	release chan struct{}
}

func newGated() *gated {
	return &gated{calls: make(chan []int, 10), release: make(chan struct{})}
}

func (g *gated) many(_ context.Context, reqs []int) ([]int, error) {
	g.calls <- append([]int(nil), reqs...)
	<-g.release
	out := make([]int, len(reqs))
	for i, q := range reqs {
		out[i] = 2 * q
	}
	return out, nil
}

// TestReadLeavesMidBatch: a reads caller whose context ends returns at
// once, though its batch is being read; the batch is read for the others
// of it, and the next batch is read too.
func TestReadLeavesMidBatch(t *testing.T) {
	t.Parallel()
	g := newGated()
	b := NewReads(10, g.many)
	ctx, cancel := context.WithCancel(t.Context())
	leader := start(ctx, b, 1)
	require.Equal(t, []int{1}, <-g.calls)
	cancel()
	require.ErrorIs(t, leader()[1], context.Canceled, "the leader left while its batch was read")

	ctx2, cancel2 := context.WithCancel(t.Context())
	leaving := start(ctx2, b, 2)
	queued(b, 1)
	rest := start(t.Context(), b, 3)
	queued(b, 2)
	g.release <- struct{}{} // the first batch ends: the next is read
	require.ElementsMatch(t, []int{2, 3}, <-g.calls)
	cancel2()
	require.ErrorIs(t, leaving()[2], context.Canceled, "a caller left while its batch was read")
	g.release <- struct{}{}
	require.Equal(t, map[int]error{3: nil}, rest(), "the other of that batch gets its result")

	after := start(t.Context(), b, 4)
	require.Equal(t, []int{4}, <-g.calls, "the Batcher goes on")
	g.release <- struct{}{}
	require.Equal(t, map[int]error{4: nil}, after())
}

// TestPromotedReadThatLeavesStillLeads: a reads caller promoted to lead
// the next batch whose context has ended leaves, and the batch (here its
// own) is read all the same, so the callers behind it are not stranded.
func TestPromotedReadThatLeavesStillLeads(t *testing.T) {
	t.Parallel()
	g := newGated()
	b := NewReads(10, g.many)
	c := &call[int, int]{req: 5, wake: make(chan bool, 1)}
	b.mu.Lock()
	b.queue, b.busy, c.lead = []*call[int, int]{c}, true, true // as handOff promotes
	b.mu.Unlock()
	c.wake <- true
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.await(ctx, c)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []int{5}, <-g.calls, "its batch is read")
	g.release <- struct{}{}

	next := start(t.Context(), b, 6)
	require.Equal(t, []int{6}, <-g.calls, "and the lead goes on")
	g.release <- struct{}{}
	require.Equal(t, map[int]error{6: nil}, next())
}
