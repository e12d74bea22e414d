// Package typesense keeps MohallaMart's search index in Typesense
// (https://typesense.org) with the typesense-go SDK; it implements
// search.Index.
//
// Products live in the "products" collection and shops in "shops"; each is
// created with its schema the first time it is needed if it does not exist.
// Documents are upserted by id, so index writes are idempotent.
package typesense

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	tsclient "github.com/typesense/typesense-go/v2/typesense"
	"github.com/typesense/typesense-go/v2/typesense/api"

	"github.com/mohallamart/backend/search"
)

// Collection names.
const (
	ProductsCollection = "products"
	ShopsCollection    = "shops"
)

// Opts configure an Index.
type Opts struct {
	// URL is the Typesense server, such as http://localhost:8108. Required.
	URL string
	// APIKey is an admin API key. Required.
	APIKey string
	// Timeout bounds one request; default 10s.
	Timeout time.Duration
}

// Index is a search.Index in Typesense.
type Index struct {
	client *tsclient.Client

	mu      sync.Mutex
	created map[string]bool // collections known to exist
}

// New returns an Index. It fails if an option is missing.
func New(opts Opts) (*Index, error) {
	if opts.URL == "" || opts.APIKey == "" {
		return nil, errors.New("typesense: URL and APIKey are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	client := tsclient.NewClient(
		tsclient.WithServer(strings.TrimSuffix(opts.URL, "/")),
		tsclient.WithAPIKey(opts.APIKey),
		tsclient.WithConnectionTimeout(opts.Timeout),
		tsclient.WithNumRetries(0), // River retries the job instead
	)
	return &Index{client: client, created: make(map[string]bool)}, nil
}

func ptr[T any](v T) *T { return &v }

func schema(name string) *api.CollectionSchema {
	if name == ShopsCollection {
		return &api.CollectionSchema{Name: name, Fields: []api.Field{
			{Name: "name", Type: "string"},
			{Name: "address", Type: "string", Optional: ptr(true)},
		}}
	}
	return &api.CollectionSchema{Name: name, Fields: []api.Field{
		{Name: "shop_id", Type: "string", Facet: ptr(true)},
		{Name: "name", Type: "string"},
		{Name: "description", Type: "string", Optional: ptr(true)},
		{Name: "category", Type: "string", Facet: ptr(true), Optional: ptr(true)},
		{Name: "price_paise", Type: "int64"},
		{Name: "stock", Type: "int32"},
	}}
}

// ensure creates collection name with its schema unless it exists.
func (ix *Index) ensure(ctx context.Context, name string) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.created[name] {
		return nil
	}
	_, err := ix.client.Collection(name).Retrieve(ctx)
	if statusOf(err) == http.StatusNotFound {
		_, err = ix.client.Collections().Create(ctx, schema(name))
		if statusOf(err) == http.StatusConflict { // created concurrently by another process
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("typesense: ensure collection %s: %w", name, err)
	}
	ix.created[name] = true
	return nil
}

func statusOf(err error) int {
	var he *tsclient.HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

func (ix *Index) upsert(ctx context.Context, collection string, doc map[string]any) error {
	if err := ix.ensure(ctx, collection); err != nil {
		return err
	}
	if _, err := ix.client.Collection(collection).Documents().Upsert(ctx, doc); err != nil {
		return fmt.Errorf("typesense: upsert %s/%v: %w", collection, doc["id"], err)
	}
	return nil
}

func (ix *Index) delete(ctx context.Context, collection, id string) error {
	if err := ix.ensure(ctx, collection); err != nil {
		return err
	}
	_, err := ix.client.Collection(collection).Document(id).Delete(ctx)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return fmt.Errorf("typesense: delete %s/%s: %w", collection, id, err)
	}
	return nil
}

// UpsertProduct adds or replaces p in the products collection.
func (ix *Index) UpsertProduct(ctx context.Context, p search.Product) error {
	return ix.upsert(ctx, ProductsCollection, map[string]any{
		"id": p.ID, "shop_id": p.ShopID, "name": p.Name, "description": p.Description,
		"category": p.Category, "price_paise": p.PricePaise, "stock": p.Stock,
	})
}

// DeleteProduct removes a product; a product not indexed is no error.
func (ix *Index) DeleteProduct(ctx context.Context, id string) error {
	return ix.delete(ctx, ProductsCollection, id)
}

// UpsertShop adds or replaces s in the shops collection.
func (ix *Index) UpsertShop(ctx context.Context, s search.Shop) error {
	return ix.upsert(ctx, ShopsCollection, map[string]any{"id": s.ID, "name": s.Name, "address": s.Address})
}

// DeleteShop removes a shop; a shop not indexed is no error.
func (ix *Index) DeleteShop(ctx context.Context, id string) error {
	return ix.delete(ctx, ShopsCollection, id)
}

// SearchProducts answers q with Typesense's ranking over name, category and
// description (in that order of weight).
func (ix *Index) SearchProducts(ctx context.Context, q search.Query) (*search.Result, error) {
	if err := ix.ensure(ctx, ProductsCollection); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = search.DefaultLimit
	}
	text := strings.TrimSpace(q.Q)
	if text == "" {
		text = "*"
	}
	params := &api.SearchCollectionParams{
		Q:       ptr(text),
		QueryBy: ptr("name,category,description"),
		PerPage: ptr(limit),
	}
	if q.ShopID != "" {
		params.FilterBy = ptr("shop_id:=`" + strings.ReplaceAll(q.ShopID, "`", "") + "`")
	}
	res, err := ix.client.Collection(ProductsCollection).Documents().Search(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("typesense: search products: %w", err)
	}
	out := &search.Result{Hits: []search.Hit{}}
	if res.Found != nil {
		out.Found = *res.Found
	}
	if res.Hits != nil {
		for _, h := range *res.Hits {
			if h.Document == nil {
				continue
			}
			d := *h.Document
			out.Hits = append(out.Hits, search.Hit{
				ID: str(d["id"]), ShopID: str(d["shop_id"]), Name: str(d["name"]),
				PricePaise: int64(num(d["price_paise"])), Stock: int(num(d["stock"])),
			})
		}
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
