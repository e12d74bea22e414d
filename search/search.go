// Package search keeps MohallaMart's product and shop search index and
// answers product searches. Index is the interface the jobs and the HTTP API
// use; Postgres is the default (full-text search over the search_documents
// table, ranked with ts_rank), and search/typesense implements it with
// Typesense.
//
// Writes are upserts and deletes by id, so they are idempotent: a retried or
// repeated index job leaves the same result.
package search

import "context"

// Product is a product as the index holds it.
type Product struct {
	ID          string
	ShopID      string
	Name        string
	Description string
	Category    string
	PricePaise  int64
	Stock       int
}

// Shop is a shop as the index holds it.
type Shop struct {
	ID      string
	Name    string
	Address string
}

// Query is a product search.
type Query struct {
	// Q is the text to search for; empty matches every product.
	Q string
	// ShopID, when set, keeps only that shop's products.
	ShopID string
	// Limit caps the hits returned; 0 means DefaultLimit.
	Limit int
}

// DefaultLimit is the number of hits a Query returns by default.
const DefaultLimit = 20

// Hit is one matching product.
type Hit struct {
	ID         string
	ShopID     string
	Name       string
	PricePaise int64
	Stock      int
}

// Result is the answer to a Query: how many products match, and the best
// Limit of them, best first.
type Result struct {
	Found int
	Hits  []Hit
}

// Index is a search backend.
type Index interface {
	// UpsertProduct adds p or replaces the product with its id.
	UpsertProduct(ctx context.Context, p Product) error
	// DeleteProduct removes a product; removing one not indexed is no error.
	DeleteProduct(ctx context.Context, id string) error
	// UpsertShop adds s or replaces the shop with its id.
	UpsertShop(ctx context.Context, s Shop) error
	// DeleteShop removes a shop; removing one not indexed is no error.
	DeleteShop(ctx context.Context, id string) error
	// SearchProducts answers q.
	SearchProducts(ctx context.Context, q Query) (*Result, error)
}
