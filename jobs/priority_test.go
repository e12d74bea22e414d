package jobs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// TestOrderEmailsFirst: with a backlog in the email queue (built while no
// worker runs, then worked one job at a time), every order confirmation
// goes out before any welcome email queued before it.
func TestOrderEmailsFirst(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setup(t, bundleOpts{queues: map[string]int{jobs.QueueEmail: 1}, stopped: true})

	owner := mustUser(t, b.mart)
	shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "S", OwnerID: owner.ID})
	require.NoError(t, err)
	p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Atta", PricePaise: 100, Stock: 100})
	require.NoError(t, err)
	const n = 5
	for range n {
		u := mustUser(t, b.mart) // a welcome email first
		_, err := b.mart.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: u.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{{ProductID: p.ID, Quantity: 1}}})
		require.NoError(t, err)
	}

	require.NoError(t, b.client.Start(ctx))
	welcomes := b.waitJobs(t, "send_welcome_email", n+1)
	confirmations := b.waitJobs(t, "send_order_confirmation", n)
	lastConfirmation := confirmations[n-1].FinalizedAt
	for _, w := range welcomes {
		require.True(t, w.FinalizedAt.After(*lastConfirmation), "welcome email %d went out before an order confirmation", w.ID)
	}
}
