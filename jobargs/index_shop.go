package jobargs

import (
	"github.com/riverqueue/river"
)

// IndexShopArgs are the args of the index_shop job (search/index with type
// shop): the search index then holds the shop as it is when the job runs.
type IndexShopArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
	// ShopID is the shop to index or, if it is gone, to remove.
	ShopID string `json:"shop_id" river:"unique"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (IndexShopArgs) Kind() string { return "index_shop" }

// InsertOpts puts the job in the search queue, unique by shop until it has
// worked (see IndexProductArgs.InsertOpts).
func (IndexShopArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSearch, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: pendingStates()}}
}

// CoalesceKey identifies the jobs that are one job (unique args): those of
// one shop. See Coalescer.
func (a IndexShopArgs) CoalesceKey() string { return a.ShopID }
