package httpapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMoneyLimits sends the prices and orders that once wrapped int64 (a
// 201 with totalPaise 0) or tripped the orders table's check (a 500): a
// price above the maximum is a 400 naming pricePaise, and an order whose
// line or total is too large is a 400 naming the field that writes
// nothing. Products priced before the limit existed are made by SQL.
func TestMoneyLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	f := newFixture(t, b)
	do := func(method, path string, body any) response {
		t.Helper()
		return b.do(t, method, path, apiKey, body)
	}
	const huge = `4611686018427387904` // 2^62 paise

	// Products: the maximum is a price, one paisa more is not.
	r := do("POST", "/v1/products", map[string]any{"shopId": f.shopID, "name": "Tractor", "pricePaise": 10_000_000_000, "stock": 1})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	for _, price := range []string{"10000000001", huge, "9223372036854775807"} {
		r = do("POST", "/v1/products", `{"shopId":"`+f.shopID+`","name":"Gold","pricePaise":`+price+`,"stock":10}`)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, map[string]string{"pricePaise": "must be between 0 and 10000000000 (paise)"}, r.details(t))
		r = do("PATCH", "/v1/products/"+f.productID, `{"pricePaise":`+price+`}`)
		requireError(t, r, http.StatusBadRequest)
		require.Contains(t, r.details(t), "pricePaise")
	}
	require.Equal(t, float64(24900), do("GET", "/v1/products/"+f.productID, nil).json(t)["pricePaise"])

	legacy := func(name, price string) string {
		t.Helper()
		r := do("POST", "/v1/products", map[string]any{"shopId": f.shopID, "name": name, "pricePaise": 100, "stock": 10})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		id := r.json(t)["id"].(string)
		_, err := b.pool.Exec(t.Context(), "UPDATE products SET price_paise = $2::text::bigint WHERE id = $1", id, price)
		require.NoError(t, err)
		return id
	}
	gold := legacy("Gold", huge)
	silver, bronze := legacy("Silver", "4503599627370496"), legacy("Bronze", "4503599627370496") // 2^52 each
	order := func(items string) response {
		t.Helper()
		return do("POST", "/v1/orders", `{"userId":"`+f.userID+`","shopId":"`+f.shopID+`","items":`+items+`}`)
	}
	line := func(id string, quantity int) string {
		return fmt.Sprintf(`{"productId":%q,"quantity":%d}`, id, quantity)
	}

	// state sums what a placed order writes: orders, events, jobs, stock.
	const state = `SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM events) + (SELECT count(*) FROM river_job) + (SELECT sum(stock) FROM products)`
	var before int64
	require.NoError(t, b.pool.QueryRow(t.Context(), state).Scan(&before))
	for _, tc := range []struct {
		items, field string
	}{
		{"[" + line(gold, 4) + "]", "items[0].quantity"}, // 2^64: wrapped to 0
		{"[" + line(gold, 2) + "]", "items[0].quantity"}, // 2^63: wrapped negative
		{"[" + line(f.productID, 1) + "," + line(gold, 1) + "]", "items[1].quantity"},
		{"[" + line(silver, 2) + "]", "items[0].quantity"},
		{"[" + line(silver, 1) + "," + line(bronze, 1) + "]", "totalPaise"},
	} {
		r := order(tc.items)
		requireError(t, r, http.StatusBadRequest)
		require.Equal(t, []string{tc.field}, slices.Collect(maps.Keys(r.details(t))), "%s", r.body)
	}
	var after int64
	require.NoError(t, b.pool.QueryRow(t.Context(), state).Scan(&after))
	require.Equal(t, before, after, "a refused order writes nothing")

	// Up to the maximum total, an order of old prices is placed.
	r = order("[" + line(silver, 1) + "," + line(f.productID, 1) + "]")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	require.Equal(t, float64(1<<52+24900), r.json(t)["totalPaise"])
}
