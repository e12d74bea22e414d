package mart_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/mart"
)

// TestDeleteUserErasesPersonalData: a deleted account keeps its row (its
// orders and shop still reference it) without its email, name or phone,
// and its address can be registered again at once.
func TestDeleteUserErasesPersonalData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	f := newFixture(t, b.svc, 5)
	phone := "+919876543210"
	u, err := b.svc.UpdateUser(ctx, f.owner.ID, mart.UpdateUserParams{Phone: &phone})
	require.NoError(t, err)
	_, err = b.svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: u.ID, ShopID: f.shop.ID, Items: []mart.PlaceOrderItem{{ProductID: f.product.ID, Quantity: 1}}})
	require.NoError(t, err)

	require.NoError(t, b.svc.DeleteUser(ctx, u.ID))

	var email, name string
	var gotPhone *string
	require.NoError(t, b.db.QueryRow(ctx, `SELECT email, name, phone FROM users WHERE id = $1`, u.ID).Scan(&email, &name, &gotPhone))
	require.Equal(t, "deleted-"+u.ID+"@invalid", email)
	require.Equal(t, "Deleted user", name)
	require.Nil(t, gotPhone)
	require.Zero(t, count(t, b.db, `SELECT count(*) FROM users WHERE email ILIKE '%owner@example.com%' OR phone IS NOT NULL OR name = 'Owner'`))
	require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM orders WHERE user_id = $1`, u.ID), "the order still references the row")
	require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM shops WHERE owner_id = $1`, u.ID), "so does the shop")

	again, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "Owner@Example.com", Name: "Owner", Phone: &phone})
	require.NoError(t, err, "the old address registers again")
	require.NotEqual(t, u.ID, again.ID)
}

// TestDeletedUserRowsHoldNoPersonalData: the users_deleted_erased check
// refuses a deleted row that still holds personal data, whatever code
// writes it.
func TestDeletedUserRowsHoldNoPersonalData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	u, err := b.svc.CreateUser(ctx, mart.CreateUserParams{Email: "ravi@example.com", Name: "Ravi"})
	require.NoError(t, err)
	_, err = b.db.Exec(ctx, `UPDATE users SET deleted_at = now() WHERE id = $1`, u.ID)
	require.ErrorContains(t, err, "users_deleted_erased")
}
