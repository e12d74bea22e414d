package search

import (
	"context"
	"fmt"

	"github.com/mohallamart/backend/db"
)

// Document types in search_documents.type.
const (
	typeProduct = "product"
	typeShop    = "shop"
)

// Postgres is the default Index: the search_documents table, whose
// generated tsvector column (name weighted A, category B, description C) has
// a GIN index. Queries use websearch_to_tsquery, so users may write
// "basmati rice", "rice -brown" or "\"toor dal\"".
type Postgres struct {
	queries *db.Queries
}

// NewPostgres returns the Postgres index on dbtx (a pool, or a transaction
// to make index writes part of it).
func NewPostgres(dbtx db.DBTX) *Postgres {
	return &Postgres{queries: db.New(dbtx)}
}

// UpsertProduct adds or replaces p.
func (s *Postgres) UpsertProduct(ctx context.Context, p Product) error {
	err := s.queries.SearchDocumentUpsert(ctx, db.SearchDocumentUpsertParams{
		Type: typeProduct, ID: p.ID, ShopID: p.ShopID, Name: p.Name, Description: p.Description,
		Category: p.Category, PricePaise: p.PricePaise, Stock: int32(p.Stock),
	})
	if err != nil {
		return fmt.Errorf("index product %s: %w", p.ID, err)
	}
	return nil
}

// DeleteProduct removes a product.
func (s *Postgres) DeleteProduct(ctx context.Context, id string) error {
	if err := s.queries.SearchDocumentDelete(ctx, db.SearchDocumentDeleteParams{Type: typeProduct, ID: id}); err != nil {
		return fmt.Errorf("remove product %s from index: %w", id, err)
	}
	return nil
}

// UpsertShop adds or replaces sh.
func (s *Postgres) UpsertShop(ctx context.Context, sh Shop) error {
	err := s.queries.SearchDocumentUpsert(ctx, db.SearchDocumentUpsertParams{
		Type: typeShop, ID: sh.ID, Name: sh.Name, Description: sh.Address,
	})
	if err != nil {
		return fmt.Errorf("index shop %s: %w", sh.ID, err)
	}
	return nil
}

// DeleteShop removes a shop.
func (s *Postgres) DeleteShop(ctx context.Context, id string) error {
	if err := s.queries.SearchDocumentDelete(ctx, db.SearchDocumentDeleteParams{Type: typeShop, ID: id}); err != nil {
		return fmt.Errorf("remove shop %s from index: %w", id, err)
	}
	return nil
}

// SearchProducts answers q, best-ranked first (ties by name).
func (s *Postgres) SearchProducts(ctx context.Context, q Query) (*Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	rows, err := s.queries.SearchDocumentQuery(ctx, db.SearchDocumentQueryParams{
		Q: q.Q, Type: typeProduct, ShopID: q.ShopID, MaxHits: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("search products: %w", err)
	}
	res := &Result{Hits: make([]Hit, len(rows))}
	for i, r := range rows {
		res.Found = int(r.Found)
		res.Hits[i] = Hit{ID: r.ID, ShopID: r.ShopID, Name: r.Name, PricePaise: r.PricePaise, Stock: int(r.Stock)}
	}
	return res, nil
}
