package mart

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Shop is a neighbourhood shop, owned by a user.
type Shop struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	OwnerID   string    `json:"ownerId"`
	Address   string    `json:"address"`
	CreatedAt time.Time `json:"createdAt"`
}

func shopFromRow(r *db.Shop) *Shop {
	return &Shop{ID: r.ID, Name: r.Name, OwnerID: r.OwnerID, Address: r.Address, CreatedAt: r.CreatedAt}
}

// CreateShopParams are the fields of a new shop.
type CreateShopParams struct {
	Name    string
	OwnerID string
	Address string
}

// CreateShop creates a shop owned by an existing user and publishes
// search/index for it.
func (s *Service) CreateShop(ctx context.Context, p CreateShopParams) (*Shop, error) {
	var f fieldErrors
	checkText(&f, "name", p.Name, 200)
	checkID(&f, "ownerId", p.OwnerID)
	if len(p.Address) > 1000 {
		f.add("address", "must be at most 1000 characters")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	var shop *Shop
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if _, err := q.UserGetForUpdate(ctx, p.OwnerID); err != nil {
			return invalidRef(err, "ownerId", "user "+p.OwnerID)
		}
		row, err := q.ShopInsert(ctx, db.ShopInsertParams{OwnerID: p.OwnerID, Name: p.Name, Address: p.Address})
		if err != nil {
			return fmt.Errorf("insert shop: %w", err)
		}
		shop = shopFromRow(row)
		return s.publish(ctx, tx, &events.SearchIndex{Type: "shop", ID: row.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("create shop: %w", err)
	}
	return shop, nil
}

// GetShop returns a shop.
func (s *Service) GetShop(ctx context.Context, id string) (*Shop, error) {
	if !isUUID(id) {
		return nil, errNotFound("Shop", id)
	}
	row, err := db.New(s.db).ShopGet(ctx, id)
	if err != nil {
		return nil, notFound(err, "Shop", id)
	}
	return shopFromRow(row), nil
}
