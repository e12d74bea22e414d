-- name: ProductInsert :one
INSERT INTO products (shop_id, name, description, category, price_paise, stock)
VALUES (@shop_id, @name, @description, @category, @price_paise, @stock)
RETURNING *;

-- name: ProductGet :one
SELECT * FROM products WHERE id = @id AND deleted_at IS NULL;

-- name: ProductGetForUpdate :one
SELECT * FROM products WHERE id = @id AND deleted_at IS NULL FOR UPDATE;


-- name: ProductList :many
-- An order's products, read without locking them. The ids are read through
-- a sub-select so that the statement keeps one generic plan: given the
-- array itself, PostgreSQL estimates each call by its length and plans
-- every call anew (see docs/ARCHITECTURE.md, "Statements planned once").
-- The outer cast keeps ANY from reading the sub-select as a set of arrays.
SELECT * FROM products
WHERE id = ANY((SELECT (@ids::text[])::uuid[])::uuid[]) AND deleted_at IS NULL;

-- name: ProductUpdate :one
UPDATE products SET
    name = coalesce(sqlc.narg('name'), name),
    description = coalesce(sqlc.narg('description'), description),
    category = coalesce(sqlc.narg('category'), category),
    price_paise = coalesce(sqlc.narg('price_paise'), price_paise),
    stock = coalesce(sqlc.narg('stock')::integer, stock),
    version = version + 1,
    changed_at = now(),
    updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: ProductStockAdd :one
-- The version changes only when the product sells out or comes back: the
-- changes search shows (ordinary stock changes are not indexed).
UPDATE products SET
    stock = stock + @delta::integer,
    version = version + CASE WHEN (stock = 0) <> (stock + @delta::integer = 0) THEN 1 ELSE 0 END,
    changed_at = CASE WHEN (stock = 0) <> (stock + @delta::integer = 0) THEN now() ELSE changed_at END,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ProductSoftDelete :one
UPDATE products SET deleted_at = now(), version = version + 1, changed_at = now(), updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: ProductVersionForShare :one
-- The product's version (deleted products included), locked against
-- updates until the transaction ends: index_product completes its job under
-- this lock only if the version is the one it indexed.
SELECT version FROM products WHERE id = @id FOR SHARE;

-- name: ProductGetWithDeleted :one
-- A product whether or not it was deleted (index_product removes deleted
-- products from the index).
SELECT * FROM products WHERE id = @id;
