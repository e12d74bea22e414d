package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/search"
)

// countingIndex records every product write with its time.
type countingIndex struct {
	search.Index

	mu     sync.Mutex
	writes []indexWrite
}

type indexWrite struct {
	name string
	at   time.Time
}

func (c *countingIndex) UpsertProduct(ctx context.Context, p search.Product) error {
	c.mu.Lock()
	c.writes = append(c.writes, indexWrite{p.Name, time.Now()})
	c.mu.Unlock()
	return c.Index.UpsertProduct(ctx, p)
}

// TestIndexDebounce: a burst of updates to one product from concurrent
// publishers, right after it was created, yields exactly one index-product
// run, with the latest state, one window after the last update. The
// figure (the delay after the last update) is logged.
func TestIndexDebounce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const window = time.Second // the burst must fit in the debounce's timeout, 5 windows
	pool := dbtestPool(t)
	index := &countingIndex{Index: search.NewPostgres(pool)}
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Index: index, IndexDebounce: window}})

	owner := mustUser(t, b.mart)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "v0", PricePaise: 100, Stock: 1})
	require.NoError(t, err)

	const publishers, each = 8, 5
	var wg sync.WaitGroup
	for g := range publishers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("v%d-%d", g, i)
				_, err := b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Name: &name})
				if !assertNoError(t, err) {
					return
				}
			}
		})
	}
	wg.Wait()
	latest, err := b.mart.GetProduct(ctx, p.ID)
	require.NoError(t, err)
	// The last update's time as the debounce counts it (the database's clock
	// when the update ran, this machine's clock): a time noted by a test
	// goroutine after its update returned can be late on a loaded machine.
	var last time.Time
	require.NoError(t, pool.QueryRow(ctx, "SELECT changed_at FROM products WHERE id = $1", p.ID).Scan(&last))

	rows := b.waitJobs(t, "index_product", 1)
	require.Len(t, listJobs(t, pool, "index_product"), 1, "one run for the whole burst")
	index.mu.Lock()
	defer index.mu.Unlock()
	require.Len(t, index.writes, 1, "one index write, after the burst")
	require.Equal(t, latest.Name, index.writes[0].name, "with the latest state")
	delay := index.writes[0].at.Sub(last)
	require.GreaterOrEqual(t, delay, window-50*time.Millisecond, "not before the window after the last update")
	t.Logf("indexed %s after the last of %d updates (window %s, run attempt %d)", delay.Round(time.Millisecond), publishers*each, window, rows[0].Attempt)
}

// assertNoError reports err to t from a goroutine (require would stop the
// wrong goroutine) and returns whether it was nil.
func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// TestIndexProductDebounced: with a debounce window, a product's creation
// and the updates that follow it within the window leave one pending
// index-product run, due a window after the last change and at most 5
// windows after the first; the run indexes the product as it is when it
// runs.
func TestIndexProductDebounced(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const window = time.Minute
	b := setupTx(t, jobs.Deps{IndexDebounce: window})
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: mustUser(t, b.mart).ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Tea", PricePaise: 100, Stock: 3})
	require.NoError(t, err)
	for _, name := range []string{"Tea 250g", "Assam Tea 250g"} {
		_, err = b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Name: &name})
		require.NoError(t, err)
	}

	run := pendingRun(t, b, "index_product")
	require.Equal(t, rivertype.JobStateScheduled, run.State, "waiting for the window")
	// now() is the transaction's start: the time each event was published at.
	var untilRun, untilDeadline float64
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT extract(epoch FROM run_at - now())::float8, extract(epoch FROM deadline - now())::float8
		FROM fn_debounce WHERE function = 'index-product' AND key = $1`, p.ID).Scan(&untilRun, &untilDeadline))
	require.InDelta(t, window.Seconds(), untilRun, 0.001, "due a window after the last change")
	require.InDelta(t, (5 * window).Seconds(), untilDeadline, 0.001, "at the latest 5 windows after the first")

	_, err = b.tx.Exec(ctx, `UPDATE fn_debounce SET run_at = now() WHERE function = 'index-product' AND key = $1`, p.ID) // the window has passed
	require.NoError(t, err)
	requireState(t, b.work(t, "index-product", run.ID), rivertype.JobStateCompleted)
	var name string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT name FROM search_documents WHERE type = 'product' AND id = $1`, p.ID).Scan(&name))
	require.Equal(t, "Assam Tea 250g", name, "the latest state")
}

// blockingIndex holds its first UpsertProduct until release is closed.
type blockingIndex struct {
	search.Index

	entered chan struct{}
	release chan struct{}
	first   atomic.Bool
}

func (b *blockingIndex) UpsertProduct(ctx context.Context, p search.Product) error {
	if b.first.CompareAndSwap(false, true) {
		close(b.entered)
		<-b.release
	}
	return b.Index.UpsertProduct(ctx, p)
}

// TestIndexProductUpdateWhileRunning: an update committed while the
// product's index-product run is running (and has read the old row)
// commits at once, without waiting for the index, and starts a run of its
// own, which indexes the new state.
func TestIndexProductUpdateWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtestPool(t)
	index := &blockingIndex{Index: search.NewPostgres(pool), entered: make(chan struct{}), release: make(chan struct{})}
	// The update's run is due a window after it: the blocked run, released
	// at once, has finished by then.
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Index: index, IndexDebounce: 500 * time.Millisecond}})

	owner := mustUser(t, b.mart)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Old Name", PricePaise: 100, Stock: 1})
	require.NoError(t, err)

	<-index.entered // the run read "Old Name" and is writing the index
	name := "New Name"
	_, err = b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Name: &name})
	require.NoError(t, err, "the update commits while the index run runs")
	require.Len(t, listJobs(t, pool, "index_product"), 2, "the update started a run of its own")
	close(index.release)

	for _, job := range b.waitJobs(t, "index_product", 2) {
		require.Equal(t, rivertype.JobStateCompleted, job.State)
	}
	res, err := index.SearchProducts(ctx, search.Query{Q: "name"})
	require.NoError(t, err)
	require.Equal(t, []string{"New Name"}, hitNames(res))
}
