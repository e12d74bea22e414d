// Package groupcommit runs many callers' small writes or reads as one
// statement: the requests that arrive while a batch is being written wait,
// and are written together as the next batch, by one of them. Under load
// this turns a statement (and a commit) per request into one per batch;
// alone, a request is written at once, as its own batch of one.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// batchTimeout bounds a write (a batch's, or one request's), which runs on
// behalf of many callers and so without any one caller's cancellation.
const batchTimeout = 30 * time.Second

// Batcher writes requests of type Req in batches, each request getting its
// own result of type Res.
type Batcher[Req, Res any] struct {
	many func(ctx context.Context, reqs []Req) ([]Res, error)
	one  func(ctx context.Context, req Req) (Res, error)
	max  int

	reads bool // NewReads: a caller leaves when its context ends, even mid-batch

	mu    sync.Mutex
	queue []*call[Req, Res]
	busy  bool // a caller leads: writes the batch at the queue's head
}

// call is one request waiting in a Batcher.
type call[Req, Res any] struct {
	req     Req
	res     Res
	err     error
	wake    chan bool // true: lead the next batch; false: done
	lead    bool      // promoted to lead (under the Batcher's lock)
	started bool      // reads: its lead has begun (its caller's own)
}

// New returns a Batcher that writes batches of at most max requests with
// many, which returns one result per request, in order. When many returns
// an error (it must then have written nothing: one statement that failed),
// each request of the batch is written again alone with one, so that a
// request that cannot be written fails alone. A nil one writes a request
// alone with many, as a batch of one.
func New[Req, Res any](max int, many func(ctx context.Context, reqs []Req) ([]Res, error), one func(ctx context.Context, req Req) (Res, error)) *Batcher[Req, Res] {
	return &Batcher[Req, Res]{many: many, one: one, max: max}
}

// NewReads returns a Batcher for reads, whose batches have no effect a
// caller must wait for: as New with a nil one, except that a caller
// whose ctx ends returns ctx's error at once, even while its batch is being
// read, which goes on for the others. Each batch is read in a goroutine of
// its own.
func NewReads[Req, Res any](max int, many func(ctx context.Context, reqs []Req) ([]Res, error)) *Batcher[Req, Res] {
	b := New(max, many, nil)
	b.reads = true
	return b
}

// Do writes req, in a batch with the requests that wait with it, and
// returns its result. It returns ctx's error if ctx ends while req still
// waits; once req's batch is being written it waits for its result, unless
// the Batcher is for reads (NewReads).
func (b *Batcher[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	c := &call[Req, Res]{req: req, wake: make(chan bool, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	first := !b.busy
	if first {
		b.busy, c.lead = true, true
	}
	b.mu.Unlock()
	if b.reads {
		if first {
			c.started = true
			go b.lead(ctx, c)
		}
		return b.await(ctx, c)
	}
	if first {
		b.lead(ctx, c)
		return c.res, c.err
	}
	select {
	case lead := <-c.wake:
		if lead {
			b.lead(ctx, c)
		}
		return c.res, c.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	for i, q := range b.queue {
		if q == c && !c.lead { // still waiting: leave
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			b.mu.Unlock()
			var zero Res
			return zero, ctx.Err()
		}
	}
	b.mu.Unlock()
	// Promoted, or in a batch being written: see it through.
	if <-c.wake {
		b.lead(ctx, c)
	}
	return c.res, c.err
}

// lead writes the batch at the head of the queue, which holds self, then
// hands the lead to the next waiting request, if any. The hand-off runs
// even if a write panics, so that one bad request cannot stall the others.
func (b *Batcher[Req, Res]) lead(ctx context.Context, self *call[Req, Res]) {
	b.mu.Lock()
	n := min(len(b.queue), b.max)
	batch := make([]*call[Req, Res], n)
	copy(batch, b.queue)
	b.queue = b.queue[n:]
	b.mu.Unlock()

	defer b.handOff()
	defer func() {
		for _, c := range batch {
			if c != self || b.reads { // a reads leader waits in await
				c.wake <- false
			}
		}
	}()
	b.write(ctx, batch)
}

// await waits for c's result in a reads Batcher, leading its batch (in a
// goroutine) when promoted to. When ctx ends it returns ctx's error at once:
// c leaves the queue if it still waits there; a batch it is in is read for
// the others, and a lead it was promoted to is taken up all the same.
func (b *Batcher[Req, Res]) await(ctx context.Context, c *call[Req, Res]) (Res, error) {
	for {
		select {
		case lead := <-c.wake:
			if !lead {
				return c.res, c.err
			}
			c.started = true
			go b.lead(ctx, c)
			continue
		case <-ctx.Done():
		}
		b.mu.Lock()
		promoted := c.lead && !c.started
		if i := slices.Index(b.queue, c); i >= 0 && !c.lead {
			b.queue = slices.Delete(b.queue, i, i+1)
		}
		b.mu.Unlock()
		if promoted {
			<-c.wake // the promotion, sent once the lock is free
			go b.lead(ctx, c)
		}
		var zero Res
		return zero, ctx.Err()
	}
}

// handOff gives the lead to the request at the head of the queue, or ends
// the lead when none waits.
func (b *Batcher[Req, Res]) handOff() {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.busy = false
		b.mu.Unlock()
		return
	}
	next := b.queue[0]
	next.lead = true
	b.mu.Unlock()
	next.wake <- true
}

// errPanicked is the result of a request whose write panicked.
var errPanicked = errors.New("groupcommit: the write panicked")

// write writes batch with many, or each request with one when many fails.
// A result list of the wrong length fails every request of the batch;
// a panic fails the request (or batch) being written, and is not
// propagated.
func (b *Batcher[Req, Res]) write(ctx context.Context, batch []*call[Req, Res]) {
	ctx = context.WithoutCancel(ctx)
	for _, c := range batch {
		c.err = errPanicked // until written
	}
	if len(batch) > 1 {
		res, err := b.writeMany(ctx, batch)
		if err == nil {
			for i, c := range batch {
				if len(res) == len(batch) {
					c.res, c.err = res[i], nil
				} else {
					c.err = fmt.Errorf("groupcommit: %d results for %d requests", len(res), len(batch))
				}
			}
			return
		}
	}
	for _, c := range batch {
		c.res, c.err = b.writeOne(ctx, c.req)
	}
}

// writeMany runs many for batch, within batchTimeout, recovering a panic.
func (b *Batcher[Req, Res]) writeMany(ctx context.Context, batch []*call[Req, Res]) (res []Res, err error) {
	defer func() {
		if recover() != nil {
			res, err = nil, errPanicked
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	reqs := make([]Req, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	return b.many(ctx, reqs)
}

// writeOne runs one for req, within batchTimeout, recovering a panic.
func (b *Batcher[Req, Res]) writeOne(ctx context.Context, req Req) (res Res, err error) {
	defer func() {
		if recover() != nil {
			var zero Res
			res, err = zero, errPanicked
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	if b.one != nil {
		return b.one(ctx, req)
	}
	all, err := b.many(ctx, []Req{req})
	if err == nil && len(all) != 1 {
		err = fmt.Errorf("groupcommit: %d results for 1 request", len(all))
	}
	if err != nil {
		return res, err
	}
	return all[0], nil
}

// ByPlace returns n results from rows, each at the place that place gives
// it, counted from 1 (as a statement's WITH ORDINALITY counts the requests
// it was given); a place no row names holds the zero Res.
func ByPlace[Res any](n int, rows []Res, place func(Res) int64) ([]Res, error) {
	out := make([]Res, n)
	for _, r := range rows {
		i := place(r)
		if i < 1 || i > int64(n) {
			return nil, fmt.Errorf("groupcommit: a result for place %d of %d", i, n)
		}
		out[i-1] = r
	}
	return out, nil
}
