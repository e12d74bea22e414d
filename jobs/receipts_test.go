package jobs

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// TestReceiptsReadManyOrders: one statement reads the receipts of several
// orders, each with its own customer, shop and lines, in the order asked
// (an id in upper case, or in braces without hyphens, too); an order that is not stored gets none and
// cancels only its own job.
func TestReceiptsReadManyOrders(t *testing.T) {
	ctx := t.Context()
	tx := dbtest.TestTx(ctx, t)
	order := func(customer, shop, product string, quantity int) string {
		t.Helper()
		var id string
		require.NoError(t, tx.QueryRow(ctx, `
			WITH u AS (INSERT INTO users (email, name) VALUES (lower($1) || '@example.com', $1) RETURNING id),
			s AS (INSERT INTO shops (owner_id, name) SELECT id, $2 FROM u RETURNING id, owner_id),
			p AS (INSERT INTO products (shop_id, name, price_paise, stock) SELECT id, $3, 2500, 10 FROM s RETURNING id),
			o AS (INSERT INTO orders (user_id, shop_id, total_paise) SELECT owner_id, id, 2500 * $4 FROM s RETURNING id),
			i AS (INSERT INTO order_items (order_id, product_id, quantity, price_paise) SELECT o.id, p.id, $4, 2500 FROM o, p)
			SELECT id FROM o`, customer, shop, product, quantity).Scan(&id))
		return id
	}
	asha := order("Asha", "Gupta Kirana", "Atta", 2)
	ravi := order("Ravi", "Sharma Stores", "Dal", 1)
	missing := "00000000-0000-4000-8000-000000000000"

	d := &Deps{DB: tx, receipts: newReceipts(tx)}
	rows, err := d.receipts.Do(ctx, missing)
	require.NoError(t, err)
	require.Nil(t, rows, "an order that is not stored")

	braced := "{" + strings.ReplaceAll(asha, "-", "") + "}" // a spelling PostgreSQL reads as the same UUID
	got, err := readReceipts(ctx, tx, []string{ravi, missing, strings.ToUpper(asha), braced})
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, ravi, got[0].ID)
	require.Equal(t, "ravi@example.com", *got[0].UserEmail)
	require.Equal(t, "Sharma Stores", *got[0].ShopName)
	require.JSONEq(t, `[{"name": "Dal", "quantity": 1, "pricePaise": 2500}]`, string(got[0].Items))
	require.Nil(t, got[1])
	require.Equal(t, asha, got[2].ID)
	require.Equal(t, "asha@example.com", *got[2].UserEmail)
	require.JSONEq(t, `[{"name": "Atta", "quantity": 2, "pricePaise": 2500}]`, string(got[2].Items))
	require.NotNil(t, got[3])
	require.Equal(t, asha, got[3].ID)

	receipt, err := d.loadReceipt(ctx, asha)
	require.NoError(t, err)
	require.Equal(t, orderReceipt{
		OrderID: asha, Name: "Asha", Email: "asha@example.com", ShopName: "Gupta Kirana",
		Items:      []orderLine{{Name: "Atta", Quantity: 2, PricePaise: 2500, AmountPaise: 5000}},
		TotalPaise: 5000,
	}, receipt)
	_, err = d.loadReceipt(ctx, missing)
	require.ErrorContains(t, err, "order "+missing+" not found")
}
