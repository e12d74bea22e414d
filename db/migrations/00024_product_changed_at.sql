-- products.changed_at is when the product last changed in a way search
-- shows (when its version last moved): index_product debounces on it, so a
-- burst of updates is indexed once, after the burst. (Numbered after the
-- flow tables, which came first: a database already at that version can
-- still migrate up. A database that applied this file under its earlier
-- number 00018 runs it again harmlessly: the column is added if missing.)

-- +goose Up
ALTER TABLE products ADD COLUMN IF NOT EXISTS changed_at timestamptz NOT NULL DEFAULT now();
UPDATE products SET changed_at = updated_at;

-- +goose Down
ALTER TABLE products DROP COLUMN IF EXISTS changed_at;
