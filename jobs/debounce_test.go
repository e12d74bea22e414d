package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobargs"
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
// publishers yields exactly one index_product run, with the latest state,
// one window after the last update. The figure (the delay after the last
// update) is logged.
func TestIndexDebounce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const window = 500 * time.Millisecond
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
	require.Len(t, listJobs(t, pool, "index_product"), 1, "one job for the whole burst")
	index.mu.Lock()
	defer index.mu.Unlock()
	require.Len(t, index.writes, 1, "one run, after the burst")
	require.Equal(t, latest.Name, index.writes[0].name, "with the latest state")
	delay := index.writes[0].at.Sub(last)
	require.GreaterOrEqual(t, delay, window-50*time.Millisecond, "not before the window after the last update")
	t.Logf("indexed %s after the last of %d updates (window %s, job attempt %d)", delay.Round(time.Millisecond), publishers*each, window, rows[0].Attempt)
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

// TestIndexDebounceBounded: a product that keeps changing is still indexed
// MaxDebounceWaits windows after its job was created: just before that the
// job waits for the quiet window, from then on it indexes at once.
func TestIndexDebounceBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t)
	owner := mustUser(t, b.mart)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "v0", PricePaise: 100, Stock: 1})
	require.NoError(t, err)
	job := pendingJob[jobargs.IndexProductArgs](t, b)

	const window = time.Minute
	for _, tt := range []struct {
		after time.Duration // since the job was created
		want  river.EventKind
	}{
		{jobs.MaxDebounceWaits*window - time.Second, river.EventKindJobSnoozed},
		{jobs.MaxDebounceWaits * window, river.EventKindJobCompleted},
	} {
		now := job.CreatedAt.Add(tt.after)
		// The product changed just now: without the bound, the job would wait a whole window.
		_, err := b.tx.Exec(ctx, "UPDATE products SET changed_at = $2 WHERE id = $1", p.ID, now)
		require.NoError(t, err)
		w := testWorker[jobargs.IndexProductArgs](t, b.tx, jobs.Deps{IndexDebounce: window, NowFunc: func() time.Time { return now }})
		res, err := w.WorkJob(ctx, t, b.tx, job)
		require.NoError(t, err)
		require.Equal(t, tt.want, res.EventKind, "%s after the job was created", tt.after)
	}
}
