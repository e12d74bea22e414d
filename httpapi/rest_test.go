package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/search"
)

const missingID = "00000000-0000-4000-8000-000000000000"

func TestREST(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	do := func(method, path string, body any) response {
		t.Helper()
		return b.do(t, method, path, apiKey, body)
	}
	created := func(r response, prefix string) string {
		t.Helper()
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		id := r.json(t)["id"].(string)
		require.Equal(t, prefix+id, r.header.Get("Location"))
		return id
	}

	// Users.
	userID := created(do("POST", "/v1/users", map[string]any{"email": "ravi@example.com", "name": "Ravi", "phone": "+919800000001"}), "/v1/users/")
	u := do("GET", "/v1/users/"+userID, nil)
	require.Equal(t, http.StatusOK, u.status)
	require.Equal(t, "Ravi", u.json(t)["name"])
	require.NotEmpty(t, u.json(t)["createdAt"])
	requireError(t, do("POST", "/v1/users", map[string]any{"email": "ravi@example.com", "name": "Other"}), http.StatusConflict)
	r := do("POST", "/v1/users", map[string]any{"email": "nope", "name": ""})
	requireError(t, r, http.StatusBadRequest)
	require.Contains(t, r.details(t), "email")
	require.Contains(t, r.details(t), "name")
	r = do("POST", "/v1/users", `{"email":"a@example.com","name":"A","nickname":"x"}`)
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, "unknown field", r.details(t)["nickname"])
	r = do("POST", "/v1/users", `{"email":"a@example.com","name":7}`)
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, "must be a string", r.details(t)["name"])
	requireError(t, do("POST", "/v1/users", `{"email":`), http.StatusBadRequest)
	requireError(t, do("POST", "/v1/users", nil), http.StatusBadRequest)
	// REST bodies: 64 KiB at most.
	padded := func(n int) string { // a user body of exactly n bytes
		const head, tail = `{"email":"pad@example.com","name":"Pad","phone":null`, `}`
		return head + strings.Repeat(" ", n-len(head)-len(tail)) + tail
	}
	created(do("POST", "/v1/users", padded(64<<10)), "/v1/users/")
	requireError(t, do("POST", "/v1/users", padded(64<<10+1)), http.StatusRequestEntityTooLarge)
	requireError(t, do("GET", "/v1/users/"+missingID, nil), http.StatusNotFound)
	requireError(t, do("GET", "/v1/users/not-a-uuid", nil), http.StatusNotFound)
	r = do("PATCH", "/v1/users/"+userID, map[string]any{"name": "Ravi K"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "Ravi K", r.json(t)["name"])
	requireError(t, do("PATCH", "/v1/users/"+missingID, map[string]any{"name": "X"}), http.StatusNotFound)
	requireError(t, do("PATCH", "/v1/users/"+userID, map[string]any{"email": "bad"}), http.StatusBadRequest)

	// Shops.
	shopID := created(do("POST", "/v1/shops", map[string]any{"name": "Kirana", "ownerId": userID, "address": "MG Road"}), "/v1/shops/")
	require.Equal(t, http.StatusOK, do("GET", "/v1/shops/"+shopID, nil).status)
	requireError(t, do("GET", "/v1/shops/"+missingID, nil), http.StatusNotFound)
	r = do("POST", "/v1/shops", map[string]any{"name": "X", "ownerId": missingID})
	requireError(t, r, http.StatusBadRequest)
	require.Contains(t, r.details(t), "ownerId")

	// Products.
	r = do("POST", "/v1/products", map[string]any{"shopId": shopID, "name": "Atta 5kg"})
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, map[string]string{"pricePaise": "is required", "stock": "is required"}, r.details(t))
	productID := created(do("POST", "/v1/products", map[string]any{
		"shopId": shopID, "name": "Atta 5kg", "category": "staples", "pricePaise": 24900, "stock": 3,
	}), "/v1/products/")
	p := do("GET", "/v1/products/"+productID, nil)
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, float64(24900), p.json(t)["pricePaise"])
	r = do("PATCH", "/v1/products/"+productID, map[string]any{"pricePaise": 25900})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, float64(25900), r.json(t)["pricePaise"])
	requireError(t, do("PATCH", "/v1/products/"+productID, map[string]any{"stock": -1}), http.StatusBadRequest)
	requireError(t, do("PATCH", "/v1/products/"+missingID, map[string]any{"stock": 1}), http.StatusNotFound)

	// Orders.
	order := func(qty int) response {
		return do("POST", "/v1/orders", map[string]any{"userId": userID, "shopId": shopID,
			"items": []any{map[string]any{"productId": productID, "quantity": qty}}})
	}
	m := requireError(t, order(4), http.StatusConflict)
	require.Contains(t, m["error"], "Not enough stock for product "+productID)
	r = do("POST", "/v1/orders", map[string]any{"userId": userID, "shopId": shopID,
		"items": []any{map[string]any{"productId": productID, "quantity": 0}}})
	requireError(t, r, http.StatusBadRequest)
	require.Contains(t, r.details(t), "items[0].quantity")
	r = do("POST", "/v1/orders", `{"userId":"x","shopId":"y","items":[{"productId":"z","quantity":"two"}]}`)
	requireError(t, r, http.StatusBadRequest)
	require.Equal(t, "must be an integer", r.details(t)["items[0].quantity"])
	orderID := created(order(2), "/v1/orders/")
	o := do("GET", "/v1/orders/"+orderID, nil).json(t)
	require.Equal(t, "placed", o["status"])
	require.Equal(t, float64(2*25900), o["totalPaise"])
	requireError(t, do("GET", "/v1/orders/"+missingID, nil), http.StatusNotFound)
	requireError(t, do("PATCH", "/v1/orders/"+orderID, map[string]any{"status": "delivered"}), http.StatusConflict)
	requireError(t, do("PATCH", "/v1/orders/"+orderID, map[string]any{"status": "teleported"}), http.StatusBadRequest)
	requireError(t, do("PATCH", "/v1/orders/"+orderID, map[string]any{}), http.StatusBadRequest)
	r = do("PATCH", "/v1/orders/"+orderID, map[string]any{"status": "confirmed"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "confirmed", r.json(t)["status"])
	r = do("POST", "/v1/orders/"+orderID+"/cancel", map[string]any{"reason": "changed mind"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "cancelled", r.json(t)["status"])
	requireError(t, do("POST", "/v1/orders/"+orderID+"/cancel", nil), http.StatusConflict)
	requireError(t, do("POST", "/v1/orders/"+missingID+"/cancel", nil), http.StatusNotFound)
	require.Equal(t, float64(3), do("GET", "/v1/products/"+productID, nil).json(t)["stock"], "cancel restocks")

	// Search, answered by the configured backend (Postgres here).
	require.NoError(t, search.NewPostgres(b.pool).UpsertProduct(t.Context(), search.Product{
		ID: productID, ShopID: shopID, Name: "Atta 5kg", PricePaise: 25900, Stock: 3,
	}))
	r = do("GET", "/v1/search/products?q=atta&shopId="+shopID, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.JSONEq(t, `{"found":1,"hits":[{"id":"`+productID+`","shopId":"`+shopID+`","name":"Atta 5kg","pricePaise":25900,"stock":3}]}`, string(r.body))
	require.JSONEq(t, `{"found":0,"hits":[]}`, string(do("GET", "/v1/search/products?q=ghee", nil).body))
	requireError(t, do("GET", "/v1/search/products?limit=1000", nil), http.StatusBadRequest)

	// Deletes.
	require.Equal(t, http.StatusNoContent, do("DELETE", "/v1/products/"+productID, nil).status)
	requireError(t, do("GET", "/v1/products/"+productID, nil), http.StatusNotFound)
	require.Equal(t, http.StatusNoContent, do("DELETE", "/v1/users/"+userID, nil).status)
	requireError(t, do("DELETE", "/v1/users/"+userID, nil), http.StatusNotFound)

	// Every /v1 route needs the key; unknown routes are 404 in the error shape.
	requireError(t, b.do(t, "GET", "/v1/shops/"+shopID, "", nil), http.StatusUnauthorized)
	requireError(t, b.do(t, "POST", "/v1/orders", "wrong", nil), http.StatusUnauthorized)
	requireError(t, do("GET", "/v1/nothing", nil), http.StatusNotFound)
	// A route for another method: 405 with Allow.
	r = do("PUT", "/v1/users/"+userID, nil)
	requireError(t, r, http.StatusMethodNotAllowed)
	require.Equal(t, "GET, HEAD, PATCH, DELETE", r.header.Get("Allow"))
}
