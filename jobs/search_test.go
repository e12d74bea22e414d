package jobs_test

import (
	"testing"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/search"
	"github.com/mohallamart/backend/search/typesense"
)

func hitNames(res *search.Result) []string {
	names := []string{}
	for _, h := range res.Hits {
		names = append(names, h.Name)
	}
	return names
}

// TestSearchBackends creates products, updates one and deletes one through
// the domain writes, works the index-product runs they start, and queries
// each backend.
func TestSearchBackends(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "typesense"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var deps jobs.Deps
			var ts search.Index
			if backend == "typesense" {
				fake := closed(t, providerfake.NewTypesense(providerfake.Options{Key: "ts_key"}))
				var err error
				ts, err = typesense.New(typesense.Opts{URL: fake.URL, APIKey: "ts_key"})
				require.NoError(t, err)
				deps.Index = ts
			}
			b := setupTx(t, deps)
			var index search.Index = search.NewPostgres(b.tx)
			if ts != nil {
				index = ts
			}
			workPending := func() {
				t.Helper()
				for _, run := range pendingRuns(t, b, "index_product") {
					requireState(t, b.work(t, "index-product", run.ID), rivertype.JobStateCompleted)
				}
			}

			owner := mustUser(t, b.mart)
			shop, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Kirana", OwnerID: owner.ID})
			require.NoError(t, err)
			other, err := b.mart.CreateShop(ctx, mart.CreateShopParams{Name: "Other", OwnerID: owner.ID})
			require.NoError(t, err)
			create := func(shopID, name, category string) *mart.Product {
				p, err := b.mart.CreateProduct(ctx, mart.CreateProductParams{ShopID: shopID, Name: name, Category: category, PricePaise: 9900, Stock: 5})
				require.NoError(t, err)
				return p
			}
			basmati := create(shop.ID, "Basmati Rice", "grains")
			brown := create(shop.ID, "Brown Rice", "grains")
			dal := create(shop.ID, "Toor Dal", "pulses")
			create(other.ID, "Rice Flour", "flour")
			workPending()

			newName, price := "Sona Masoori Rice", int64(12000)
			_, err = b.mart.UpdateProduct(ctx, brown.ID, mart.UpdateProductParams{Name: &newName, PricePaise: &price})
			require.NoError(t, err)
			require.NoError(t, b.mart.DeleteProduct(ctx, basmati.ID))
			workPending()

			res, err := index.SearchProducts(ctx, search.Query{Q: "rice"})
			require.NoError(t, err)
			require.Equal(t, 2, res.Found)
			require.ElementsMatch(t, []string{"Sona Masoori Rice", "Rice Flour"}, hitNames(res))

			res, err = index.SearchProducts(ctx, search.Query{Q: "rice", ShopID: shop.ID})
			require.NoError(t, err)
			require.Equal(t, []search.Hit{{ID: brown.ID, ShopID: shop.ID, Name: "Sona Masoori Rice", PricePaise: 12000, Stock: 5}}, res.Hits)

			res, err = index.SearchProducts(ctx, search.Query{Q: "pulses"})
			require.NoError(t, err)
			require.Equal(t, []string{"Toor Dal"}, hitNames(res), "category is searched too")
			require.Equal(t, dal.ID, res.Hits[0].ID)

			res, err = index.SearchProducts(ctx, search.Query{Q: "basmati"})
			require.NoError(t, err)
			require.Zero(t, res.Found, "the deleted product is out of the index")
		})
	}
}
