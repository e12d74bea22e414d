-- products.changed_at is when the product last changed in a way search
-- shows (when its version last moved): index_product debounces on it, so a
-- burst of updates is indexed once, after the burst.

-- +goose Up
ALTER TABLE products ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();
UPDATE products SET changed_at = updated_at;

-- +goose Down
ALTER TABLE products DROP COLUMN changed_at;
