-- name: OrderInsert :one
INSERT INTO orders (user_id, shop_id, total_paise)
VALUES (@user_id, @shop_id, @total_paise)
RETURNING *;

-- name: OrderItemInsertMany :exec
-- Inserts an order's items in one statement.
INSERT INTO order_items (order_id, product_id, quantity, price_paise)
SELECT @order_id, unnest(@product_ids::uuid[]), unnest(@quantities::integer[]), unnest(@prices_paise::bigint[]);

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
SELECT r.ord::bigint AS ord, o.id, o.user_id, o.shop_id, o.total_paise,
       u.name AS user_name, u.email AS user_email,
       s.name AS shop_name,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('name', p.name, 'quantity', oi.quantity, 'pricePaise', oi.price_paise)
                                  ORDER BY p.name, oi.product_id), '[]'::jsonb)
        FROM order_items oi JOIN products p ON p.id = oi.product_id
        WHERE oi.order_id = o.id)::jsonb AS items
FROM unnest(@ids::uuid[]) WITH ORDINALITY AS r (id, ord)
JOIN orders o ON o.id = r.id
LEFT JOIN users u ON u.id = o.user_id AND u.deleted_at IS NULL
LEFT JOIN shops s ON s.id = o.shop_id;
