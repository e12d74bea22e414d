package jobs_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river/rivertype"
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
// product's index job is running (and has read the old row) commits at once,
// without waiting for the index, and still reaches the index: its own job is
// deduplicated against the running one, which sees the version change and
// runs again.
func TestIndexProductUpdateWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtestPool(t)
	index := &blockingIndex{Index: search.NewPostgres(pool), entered: make(chan struct{}), release: make(chan struct{})}
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Index: index}})

	owner := mustUser(t, b.mart)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Old Name", PricePaise: 100, Stock: 1})
	require.NoError(t, err)

	<-index.entered // the job read "Old Name" and is writing the index
	name := "New Name"
	_, err = b.mart.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Name: &name})
	require.NoError(t, err, "the update commits while the index job runs")
	close(index.release)

	job := b.waitJobs(t, "index_product", 1)[0]
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	require.Len(t, listJobs(t, pool, "index_product"), 1, "the update's job was deduplicated against the running one")
	res, err := index.SearchProducts(ctx, search.Query{Q: "name"})
	require.NoError(t, err)
	require.Equal(t, []string{"New Name"}, hitNames(res))
}
