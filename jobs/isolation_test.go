package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/notify"
	"github.com/mohallamart/backend/search"
)

// stuckIndex and stuckMailer are providers that never answer until the
// test ends: each call signals that it started, then waits.
type stuckIndex struct {
	search.Index
	started chan struct{}
	release chan struct{}
}

func (s *stuckIndex) UpsertProduct(ctx context.Context, _ search.Product) error {
	signal(s.started)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return ctx.Err()
}

type stuckMailer struct {
	started chan struct{}
	release chan struct{}
}

func (s *stuckMailer) SendEmail(ctx context.Context, _ notify.Email) (notify.Receipt, error) {
	signal(s.started)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return notify.Receipt{}, ctx.Err()
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// TestStuckProvidersLeaveWritesAlone: while index and email jobs are stuck
// in calls to a search index and a mailer that never answer, product
// updates and orders still commit: no job holds a transaction, a lock or a
// pooled connection the writes need. (Before, an index job held an
// advisory lock across the call, and Publish of a product update waited on
// it.) The writes run under a deadline only so that a regression fails the
// test instead of hanging it.
func TestStuckProvidersLeaveWritesAlone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	index := &stuckIndex{started: make(chan struct{}, 1), release: release}
	mailer := &stuckMailer{started: make(chan struct{}, 1), release: release}
	pool := dbtestPool(t)
	index.Index = search.NewPostgres(pool)
	b := setup(t, bundleOpts{pool: pool, deps: jobs.Deps{Index: index, Mailer: mailer}})

	owner := mustUser(t, b.mart) // its welcome email gets stuck
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Atta", PricePaise: 100, Stock: 100})
	require.NoError(t, err) // its index job gets stuck
	<-index.started
	<-mailer.started

	writes, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			name := "Atta " + string(rune('A'+i))
			_, err := b.mart.UpdateProduct(writes, p.ID, mart.UpdateProductParams{Name: &name})
			assert.NoError(t, err, "product update while its index job is stuck")
		})
		wg.Go(func() {
			_, err := b.mart.PlaceOrder(writes, mart.PlaceOrderParams{UserID: owner.ID, ShopID: shop.ID,
				Items: []mart.PlaceOrderItem{{ProductID: p.ID, Quantity: 1}}})
			assert.NoError(t, err, "order while email and index jobs are stuck")
		})
	}
	wg.Wait()
	var orders int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&orders))
	require.Equal(t, 5, orders)
}
