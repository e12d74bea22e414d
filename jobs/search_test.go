package jobs_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/search"
	"github.com/mohallamart/backend/search/typesense"
)

// fakeTypesense speaks enough of Typesense's REST API for search.Index:
// collections (GET one, POST), documents (POST ?action=upsert, DELETE by
// id) and search (GET .../documents/search with q, query_by, filter_by
// shop_id:=`x`, per_page); a document matches when each query word is a word
// of one of the query_by fields.
type fakeTypesense struct {
	*httptest.Server

	mu          sync.Mutex
	collections map[string]json.RawMessage
	docs        map[string]map[string]map[string]any
}

func newFakeTypesense(t *testing.T) *fakeTypesense {
	f := &fakeTypesense{collections: map[string]json.RawMessage{}, docs: map[string]map[string]map[string]any{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTypesense) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Header.Get("X-TYPESENSE-API-KEY") != "ts_key" {
		reply(401, map[string]string{"message": "Forbidden - a valid `x-typesense-api-key` header must be sent."})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/collections":
		var schema struct {
			Name string `json:"name"`
		}
		raw := json.RawMessage{}
		_ = json.NewDecoder(r.Body).Decode(&raw)
		_ = json.Unmarshal(raw, &schema)
		if _, ok := f.collections[schema.Name]; ok {
			reply(409, map[string]string{"message": "A collection with name `" + schema.Name + "` already exists."})
			return
		}
		f.collections[schema.Name] = raw
		f.docs[schema.Name] = map[string]map[string]any{}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		out["num_documents"], out["created_at"] = 0, 1700000000
		reply(201, out)
	case len(parts) == 2 && parts[0] == "collections" && r.Method == http.MethodGet:
		raw, ok := f.collections[parts[1]]
		if !ok {
			reply(404, map[string]string{"message": "Not Found"})
			return
		}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		out["num_documents"], out["created_at"] = len(f.docs[parts[1]]), 1700000000
		reply(200, out)
	case len(parts) >= 3 && parts[0] == "collections" && parts[2] == "documents":
		docs, ok := f.docs[parts[1]]
		if !ok {
			reply(404, map[string]string{"message": "Not found."})
			return
		}
		switch {
		case r.Method == http.MethodPost && len(parts) == 3 && r.URL.Query().Get("action") == "upsert":
			var doc map[string]any
			_ = json.NewDecoder(r.Body).Decode(&doc)
			docs[doc["id"].(string)] = doc
			reply(201, doc)
		case r.Method == http.MethodDelete && len(parts) == 4:
			doc, ok := docs[parts[3]]
			if !ok {
				reply(404, map[string]string{"message": "Could not find a document with id: " + parts[3]})
				return
			}
			delete(docs, parts[3])
			reply(200, doc)
		case r.Method == http.MethodGet && len(parts) == 4 && parts[3] == "search":
			f.search(r, docs, reply)
		default:
			reply(404, map[string]string{"message": "Not Found"})
		}
	default:
		reply(404, map[string]string{"message": "Not Found"})
	}
}

func (f *fakeTypesense) search(r *http.Request, docs map[string]map[string]any, reply func(int, any)) {
	q := r.URL.Query()
	words := strings.Fields(strings.ToLower(q.Get("q")))
	if q.Get("q") == "*" {
		words = nil
	}
	fields := strings.Split(q.Get("query_by"), ",")
	shop := strings.Trim(strings.TrimPrefix(q.Get("filter_by"), "shop_id:="), "`")
	type hit struct {
		Document  map[string]any `json:"document"`
		TextMatch int            `json:"text_match"`
	}
	hits := []hit{}
	for _, d := range docs {
		if shop != "" && d["shop_id"] != shop {
			continue
		}
		score := 0
		for _, w := range words {
			matched := false
			for i, field := range fields {
				s, _ := d[field].(string)
				for _, fw := range strings.Fields(strings.ToLower(s)) {
					if fw == w {
						matched = true
						score += len(fields) - i
					}
				}
			}
			if !matched {
				score = -1
				break
			}
		}
		if score >= 0 {
			hits = append(hits, hit{Document: d, TextMatch: score})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].TextMatch != hits[j].TextMatch {
			return hits[i].TextMatch > hits[j].TextMatch
		}
		return hits[i].Document["name"].(string) < hits[j].Document["name"].(string)
	})
	reply(200, map[string]any{"found": len(hits), "hits": hits, "out_of": len(docs), "page": 1, "search_time_ms": 0, "facet_counts": []any{}})
}

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
				fake := newFakeTypesense(t)
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
