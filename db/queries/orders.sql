-- name: OrderInsert :one
INSERT INTO orders (user_id, shop_id, total_paise)
VALUES (@user_id, @shop_id, @total_paise)
RETURNING *;

-- name: OrderItemInsert :exec
INSERT INTO order_items (order_id, product_id, quantity, price_paise)
VALUES (@order_id, @product_id, @quantity, @price_paise);

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

-- name: OrderItemListWithProduct :many
-- An order's lines with their product names (deleted products included).
SELECT oi.product_id, oi.quantity, oi.price_paise, p.name AS product_name
FROM order_items oi JOIN products p ON p.id = oi.product_id
WHERE oi.order_id = @order_id
ORDER BY p.name, oi.product_id;
