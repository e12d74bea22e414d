-- name: ProductInsert :one
INSERT INTO products (shop_id, name, description, category, price_paise, stock)
VALUES (@shop_id, @name, @description, @category, @price_paise, @stock)
RETURNING *;

-- name: ProductGet :one
SELECT * FROM products WHERE id = @id AND deleted_at IS NULL;

-- name: ProductGetForUpdate :one
SELECT * FROM products WHERE id = @id AND deleted_at IS NULL FOR UPDATE;


-- name: ProductListForUpdate :many
-- Locks the rows of an order's products in id order (a fixed order, so two
-- orders that share products cannot deadlock).
SELECT * FROM products
WHERE id = ANY(@ids::uuid[]) AND deleted_at IS NULL
ORDER BY id
FOR UPDATE;

-- name: ProductUpdate :one
UPDATE products SET
    name = coalesce(sqlc.narg('name'), name),
    description = coalesce(sqlc.narg('description'), description),
    category = coalesce(sqlc.narg('category'), category),
    price_paise = coalesce(sqlc.narg('price_paise'), price_paise),
    stock = coalesce(sqlc.narg('stock')::integer, stock),
    updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: ProductStockAdd :one
UPDATE products SET stock = stock + @delta::integer, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ProductSoftDelete :one
UPDATE products SET deleted_at = now(), updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;
