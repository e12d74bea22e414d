-- name: StoredRefs :many
-- Which of the given ids are stored, for the event API's check that an
-- event from outside names rows its jobs can read: each row found, with its
-- owner (an order's user, a product's shop; empty otherwise) and whether it
-- was deleted. Deleted products count as stored (indexing removes them from
-- search). One statement for a whole request.
SELECT 'order'::text AS kind, id::text AS id, user_id::text AS owner, false AS deleted
FROM orders WHERE id = ANY((@order_ids::text[])::uuid[])
UNION ALL
SELECT 'product', id::text, shop_id::text, deleted_at IS NOT NULL
FROM products WHERE id = ANY((@product_ids::text[])::uuid[])
UNION ALL
SELECT 'shop', id::text, '', false
FROM shops WHERE id = ANY((@shop_ids::text[])::uuid[])
UNION ALL
SELECT 'user', id::text, '', deleted_at IS NOT NULL
FROM users WHERE id = ANY((@user_ids::text[])::uuid[]);
