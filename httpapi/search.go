package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/search"
)

// ProductSearcher answers product searches. The configured search backend
// implements it: search.Postgres (the default) or search/typesense.
type ProductSearcher interface {
	SearchProducts(ctx context.Context, q search.Query) (*search.Result, error)
}

// Search limits: ?limit= defaults to 20 and may be at most 100.
const (
	defaultSearchLimit = search.DefaultLimit
	maxSearchLimit     = 100
	maxSearchQuery     = 500
)

// searchProducts serves GET /v1/search/products?q=&shopId=&limit=.
func (s *server) searchProducts(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	q, shopID := query.Get("q"), query.Get("shopId")
	limit := defaultSearchLimit
	var details []apperr.FieldError
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchLimit {
			details = append(details, apperr.FieldError{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", maxSearchLimit)})
		}
		limit = n
	}
	if len(q) > maxSearchQuery {
		details = append(details, apperr.FieldError{Field: "q", Message: fmt.Sprintf("must be at most %d characters", maxSearchQuery)})
	} else if msg := events.TextProblem(q); msg != "" {
		details = append(details, apperr.FieldError{Field: "q", Message: msg})
	}
	if msg := events.TextProblem(shopID); msg != "" {
		details = append(details, apperr.FieldError{Field: "shopId", Message: msg})
	}
	if lower, ok := events.CanonicalUUID(shopID); ok {
		shopID = lower // the index holds shop ids as PostgreSQL prints them
	}
	if len(details) > 0 {
		s.writeError(w, r, invalid("The search is invalid.", details...))
		return
	}
	res, err := s.Search.SearchProducts(r.Context(), search.Query{Q: q, ShopID: shopID, Limit: limit})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("search products: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, newSearchResponse(res))
}

// searchResponse is the answer of GET /v1/search/products.
type searchResponse struct {
	Found int         `json:"found"`
	Hits  []searchHit `json:"hits"`
}

// searchHit is one product in a searchResponse.
type searchHit struct {
	ID         string `json:"id"`
	ShopID     string `json:"shopId"`
	Name       string `json:"name"`
	PricePaise int64  `json:"pricePaise"`
	Stock      int    `json:"stock"`
}

// newSearchResponse maps a search result to the HTTP answer; no hits is an
// empty list, never null.
func newSearchResponse(res *search.Result) searchResponse {
	out := searchResponse{Found: res.Found, Hits: make([]searchHit, len(res.Hits))}
	for i, h := range res.Hits {
		out.Hits[i] = searchHit{ID: h.ID, ShopID: h.ShopID, Name: h.Name, PricePaise: h.PricePaise, Stock: h.Stock}
	}
	return out
}
