package main

import (
	"fmt"

	"github.com/mohallamart/backend/search/typesense"
)

// typesenseIndex is the one place that decides the search backend: Typesense
// when TYPESENSE_URL and TYPESENSE_API_KEY are set (nil, nil otherwise, which
// means Postgres full-text search). The index jobs write to it and the search
// route reads from it, so both must agree.
func typesenseIndex(cfg Config) (*typesense.Index, error) {
	if cfg.TypesenseURL == "" || cfg.TypesenseAPIKey == "" {
		return nil, nil //nolint:nilnil // nil means the Postgres default
	}
	ix, err := typesense.New(typesense.Opts{URL: cfg.TypesenseURL, APIKey: cfg.TypesenseAPIKey, Timeout: cfg.ProviderTimeout})
	if err != nil {
		return nil, fmt.Errorf("search backend: %w", err)
	}
	return ix, nil
}
