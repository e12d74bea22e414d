package jobs_test

import (
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// TestIndexProductCoalesces: a burst of writes to one product while its
// index job is pending leaves one pending job.
func TestIndexProductCoalesces(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	svc := mart.NewService(tx, outbox.New(client))

	owner, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "c@example.com", Name: "C"})
	require.NoError(t, err)
	shop, err := svc.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := svc.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Tea", PricePaise: 100, Stock: 3})
	require.NoError(t, err)
	for _, name := range []string{"Tea 250g", "Assam Tea 250g"} {
		_, err = svc.UpdateProduct(ctx, p.ID, mart.UpdateProductParams{Name: &name})
		require.NoError(t, err)
	}
	require.NoError(t, svc.DeleteProduct(ctx, p.ID))

	job := rivertest.RequireInsertedTx[*riverpgxv5.Driver](ctx, t, tx, &jobargs.IndexProductArgs{}, &rivertest.RequireInsertedOpts{
		Queue: jobargs.QueueSearch, MaxAttempts: 10,
	})
	require.Equal(t, p.ID, job.Args.ProductID)
}
