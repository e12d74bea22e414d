package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/search"
)

// blockingIndex holds its first UpsertProduct until release is closed.
type blockingIndex struct {
	search.Index

	entered chan struct{}
	release chan struct{}
	first   bool
}

func (b *blockingIndex) UpsertProduct(ctx context.Context, p search.Product) error {
	if !b.first {
		b.first = true
		close(b.entered)
		<-b.release
	}
	return b.Index.UpsertProduct(ctx, p)
}

// TestIndexProductUpdateWhileRunning: an update committed while the
// product's index job is running (and has read the old row) must still reach
// the index. Without the advisory lock its job would be deduplicated against
// the running one and the index would keep the old name.
func TestIndexProductUpdateWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtestPool(t)
	index := &blockingIndex{Index: search.NewPostgres(pool), entered: make(chan struct{}), release: make(chan struct{})}
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Index: index}})

	owner := mustUser(t, b)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Old Name", PricePaise: 100, Stock: 1})
	require.NoError(t, err)

	select {
	case <-index.entered: // the job read "Old Name" and holds the lock
	case <-time.After(10 * time.Second):
		t.Fatal("index job did not start")
	}
	updated := make(chan error, 1)
	go func() {
		name := "New Name"
		_, err := b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Name: &name})
		updated <- err
	}()
	// The update's publish waits for the running job's lock.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var waiting int
		assert.NoError(c, pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting))
		assert.Equal(c, 1, waiting)
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case err := <-updated:
		t.Fatalf("update finished while the index job ran: %v", err)
	default:
	}
	close(index.release)
	require.NoError(t, <-updated)

	rows := waitJobs(t, pool, "index_product", 2)
	require.Len(t, rows, 2, "the update got a job of its own")
	res, err := index.SearchProducts(ctx, search.Query{Q: "name"})
	require.NoError(t, err)
	require.Equal(t, []string{"New Name"}, hitNames(res))
}
