-- name: OrderPlace :one
-- Places a priced order in one statement (mart.PlaceOrder): inserts the
-- order under the id the caller made (so that its events, which name it,
-- can be sent with this statement), if its user is not deleted and its shop exists, and its items;
-- then takes the items' quantities from their products' stock. It locks
-- the products' rows in id order (a fixed order, so two orders that share
-- products cannot deadlock) for a change of their stock (NO KEY UPDATE,
-- which does not wait for the KEY SHARE locks that the foreign keys of
-- orders' items take on the rows), and decrements each row whose stock
-- covers its quantity and whose price is still the one the order was
-- priced at. It returns the order and the products it took from: their
-- ids, shops, names and the stock left. No row: the user or the shop is
-- missing, and nothing is locked. Fewer products than items: one was
-- deleted, repriced or short of stock; the caller reads why and rolls
-- back. A product's version changes only when it sells out (see
-- ProductStockAdd). The arrays are read through sub-selects, so that the
-- generic plan is kept (TestOrderStatementsArePlannedOnce).
WITH o AS (
    INSERT INTO orders (id, user_id, shop_id, total_paise)
    SELECT @id::uuid, @user_id::uuid, @shop_id::uuid, @total_paise::bigint
    WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = @user_id::uuid AND u.deleted_at IS NULL)
      AND EXISTS (SELECT 1 FROM shops s WHERE s.id = @shop_id::uuid)
    RETURNING *
), lines AS (
    SELECT unnest((SELECT (@product_ids::text[])::uuid[])) AS product_id, unnest((SELECT @quantities::integer[])) AS quantity,
           unnest((SELECT @prices_paise::bigint[])) AS price_paise
), items AS (
    INSERT INTO order_items (order_id, product_id, quantity, price_paise)
    SELECT o.id, l.product_id, l.quantity, l.price_paise FROM o, lines l
), locked AS (
    SELECT p.id FROM products p
    WHERE p.id = ANY((SELECT (@product_ids::text[])::uuid[])::uuid[]) AND p.deleted_at IS NULL AND EXISTS (SELECT 1 FROM o)
    ORDER BY p.id
    FOR NO KEY UPDATE
), taken AS (
    UPDATE products AS p SET
        stock = p.stock - l.quantity,
        version = p.version + CASE WHEN (p.stock = 0) <> (p.stock - l.quantity = 0) THEN 1 ELSE 0 END,
        changed_at = CASE WHEN (p.stock = 0) <> (p.stock - l.quantity = 0) THEN now() ELSE p.changed_at END,
        updated_at = now()
    FROM lines l
    WHERE p.id = l.product_id AND p.id IN (SELECT id FROM locked)
      AND p.stock >= l.quantity AND p.price_paise = l.price_paise
    RETURNING p.id, p.shop_id, p.name, p.stock
)
SELECT o.id, o.user_id, o.shop_id, o.status, o.total_paise, o.cancel_reason, o.created_at, o.updated_at,
    ARRAY(SELECT id FROM taken ORDER BY id)::uuid[] AS taken_ids,
    ARRAY(SELECT shop_id FROM taken ORDER BY id)::uuid[] AS taken_shop_ids,
    ARRAY(SELECT name FROM taken ORDER BY id)::text[] AS taken_names,
    ARRAY(SELECT stock FROM taken ORDER BY id)::integer[] AS taken_stocks
FROM o;

-- name: OrderGet :one
SELECT * FROM orders WHERE id = @id;

-- name: OrderGetForUpdate :one
SELECT * FROM orders WHERE id = @id FOR UPDATE;

-- name: OrderItemList :many
SELECT * FROM order_items WHERE order_id = @order_id ORDER BY product_id;

-- name: OrderSetStatus :one
UPDATE orders SET status = @status, cancel_reason = @cancel_reason, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: OrderReceiptList :many
-- What order emails show, for many orders in one round trip (a group
-- read: the confirmations being sent at once): per order, the order, its
-- customer (NULL when deleted), its shop and its lines with product names
-- (deleted products included) as a JSON array, by product name. ord is the
-- order's place in ids, from 1; an order that is not stored has no row.
-- ids are read through a sub-select, so that the statement is planned once
-- (see ProductList).
SELECT r.ord::bigint AS ord, o.id, o.user_id, o.shop_id, o.total_paise,
       u.name AS user_name, u.email AS user_email,
       s.name AS shop_name,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('name', p.name, 'quantity', oi.quantity, 'pricePaise', oi.price_paise)
                                  ORDER BY p.name, oi.product_id), '[]'::jsonb)
        FROM order_items oi JOIN products p ON p.id = oi.product_id
        WHERE oi.order_id = o.id)::jsonb AS items
FROM unnest((SELECT (@ids::text[])::uuid[])) WITH ORDINALITY AS r (id, ord)
JOIN orders o ON o.id = r.id
LEFT JOIN users u ON u.id = o.user_id AND u.deleted_at IS NULL
LEFT JOIN shops s ON s.id = o.shop_id;
