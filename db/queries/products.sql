-- name: ProductInsert :one
INSERT INTO products (shop_id, name, description, category, price_paise, stock)
VALUES (@shop_id, @name, @description, @category, @price_paise, @stock)
RETURNING *;

-- name: ProductGet :one
SELECT * FROM products WHERE id = @id AND deleted_at IS NULL;

-- name: ProductGetForUpdate :one
SELECT * FROM products WHERE id = @id AND deleted_at IS NULL FOR UPDATE;


-- name: ProductList :many
-- An order's products, read without locking them.
SELECT * FROM products
WHERE id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: ProductStockTake :many
-- Takes an order's quantities from its products' stock, in one statement:
-- it locks the rows in id order (a fixed order, so two orders that share
-- products cannot deadlock) for a change of their stock (NO KEY UPDATE,
-- which does not wait for the KEY SHARE locks that the foreign keys of
-- orders' items take on the rows), then decrements each row whose stock
-- covers its quantity and whose price is still the one the order was
-- priced at, and returns those rows. A product it does not return was
-- deleted, repriced or short of stock: the caller reads why and rolls back.
-- The version changes only when a product sells out (see ProductStockAdd).
WITH locked AS (
    SELECT l.id FROM products l
    WHERE l.id = ANY(@ids::uuid[]) AND l.deleted_at IS NULL
    ORDER BY l.id
    FOR NO KEY UPDATE
)
UPDATE products AS p SET
    stock = p.stock - t.quantity,
    version = p.version + CASE WHEN (p.stock = 0) <> (p.stock - t.quantity = 0) THEN 1 ELSE 0 END,
    changed_at = CASE WHEN (p.stock = 0) <> (p.stock - t.quantity = 0) THEN now() ELSE p.changed_at END,
    updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@quantities::integer[]) AS quantity, unnest(@prices_paise::bigint[]) AS price_paise) AS t
WHERE p.id = t.id AND p.id IN (SELECT id FROM locked)
  AND p.stock >= t.quantity AND p.price_paise = t.price_paise
RETURNING p.*;

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
