package mart

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Product is something a shop sells. Prices are integer paise, at most
// events.MaxPricePaise.
type Product struct {
	ID          string    `json:"id"`
	ShopID      string    `json:"shopId"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Category    string    `json:"category"`
	PricePaise  int64     `json:"pricePaise"`
	Stock       int       `json:"stock"`
	CreatedAt   time.Time `json:"createdAt"`
}

func productFromRow(r *db.Product) *Product {
	return &Product{
		ID: r.ID, ShopID: r.ShopID, Name: r.Name, Description: r.Description, Category: r.Category,
		PricePaise: r.PricePaise, Stock: int(r.Stock), CreatedAt: r.CreatedAt,
	}
}

// maxStock bounds stock so it fits PostgreSQL's integer with room to restock.
const maxStock = 1_000_000_000

// CreateProductParams are the fields of a new product.
type CreateProductParams struct {
	ShopID      string
	Name        string
	Description string
	Category    string
	PricePaise  int64
	Stock       int
}

// CreateProduct adds a product to an existing shop and publishes
// product/created.
func (s *Service) CreateProduct(ctx context.Context, p CreateProductParams) (*Product, error) {
	var f fieldErrors
	checkID(&f, "shopId", p.ShopID)
	checkText(&f, "name", p.Name, 200)
	checkProductFields(&f, &p.Description, &p.Category, &p.PricePaise, &p.Stock)
	if err := f.err(); err != nil {
		return nil, err
	}
	var product *Product
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if _, err := q.ShopGet(ctx, p.ShopID); err != nil {
			return invalidRef(err, "shopId", "shop "+p.ShopID)
		}
		row, err := q.ProductInsert(ctx, db.ProductInsertParams{
			ShopID: p.ShopID, Name: p.Name, Description: p.Description, Category: p.Category,
			PricePaise: p.PricePaise, Stock: int32(p.Stock),
		})
		if err != nil {
			return fmt.Errorf("insert product: %w", err)
		}
		product = productFromRow(row)
		return s.publish(ctx, tx, &events.ProductCreated{ProductID: row.ID, ShopID: row.ShopID, Name: row.Name})
	})
	if err != nil {
		return nil, fmt.Errorf("create product: %w", err)
	}
	return product, nil
}

func checkProductFields(f *fieldErrors, description, category *string, pricePaise *int64, stock *int) {
	if description != nil && len(*description) > 10_000 {
		f.add("description", "must be at most 10000 characters")
	}
	if category != nil && len(*category) > 100 {
		f.add("category", "must be at most 100 characters")
	}
	if pricePaise != nil && (*pricePaise < 0 || *pricePaise > events.MaxPricePaise) {
		f.add("pricePaise", fmt.Sprintf("must be between 0 and %d (paise)", events.MaxPricePaise))
	}
	if stock != nil && (*stock < 0 || *stock > maxStock) {
		f.add("stock", fmt.Sprintf("must be between 0 and %d", maxStock))
	}
}

// GetProduct returns a product that has not been deleted.
func (s *Service) GetProduct(ctx context.Context, id string) (*Product, error) {
	if !isUUID(id) {
		return nil, errNotFound("Product", id)
	}
	row, err := db.New(s.db).ProductGet(ctx, id)
	if err != nil {
		return nil, notFound(err, "Product", id)
	}
	return productFromRow(row), nil
}

// UpdateProductParams are a product's changed fields; nil fields are kept.
type UpdateProductParams struct {
	Name        *string
	Description *string
	Category    *string
	PricePaise  *int64
	Stock       *int
}

// UpdateProduct changes a product and publishes product/updated with the
// changed fields; a stock change from above 0 to 0 also publishes
// product/out_of_stock. With no field set it changes and publishes
// nothing, and returns the product as it is.
func (s *Service) UpdateProduct(ctx context.Context, id string, p UpdateProductParams) (*Product, error) {
	if p == (UpdateProductParams{}) {
		current, err := s.GetProduct(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("update product: %w", err)
		}
		return current, nil
	}
	var f fieldErrors
	if p.Name != nil {
		checkText(&f, "name", *p.Name, 200)
	}
	checkProductFields(&f, p.Description, p.Category, p.PricePaise, p.Stock)
	if err := f.err(); err != nil {
		return nil, err
	}
	if !isUUID(id) {
		return nil, fmt.Errorf("update product: %w", errNotFound("Product", id))
	}
	var product *Product
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		before, err := q.ProductGetForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "Product", id)
		}
		var stock *int32
		if p.Stock != nil {
			v := int32(*p.Stock)
			stock = &v
		}
		row, err := q.ProductUpdate(ctx, db.ProductUpdateParams{
			ID: id, Name: p.Name, Description: p.Description, Category: p.Category, PricePaise: p.PricePaise, Stock: stock,
		})
		if err != nil {
			return fmt.Errorf("update product: %w", err)
		}
		product = productFromRow(row)
		payloads := []events.Payload{&events.ProductUpdated{
			ProductID: id, Name: p.Name, Description: p.Description, Category: p.Category, PricePaise: p.PricePaise, Stock: p.Stock,
		}}
		if before.Stock > 0 && row.Stock == 0 {
			payloads = append(payloads, &events.ProductOutOfStock{ProductID: id, ShopID: row.ShopID, Name: row.Name})
		}
		return s.publish(ctx, tx, payloads...)
	})
	if err != nil {
		return nil, fmt.Errorf("update product: %w", err)
	}
	return product, nil
}

// DeleteProduct removes a product from sale (its row stays for the orders
// that reference it) and publishes search/index, which drops it from search.
func (s *Service) DeleteProduct(ctx context.Context, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("delete product: %w", errNotFound("Product", id))
	}
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if _, err := q.ProductSoftDelete(ctx, id); err != nil {
			return notFound(err, "Product", id)
		}
		return s.publish(ctx, tx, &events.SearchIndex{Type: "product", ID: id})
	})
	if err != nil {
		return fmt.Errorf("delete product: %w", err)
	}
	return nil
}
