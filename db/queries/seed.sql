-- Look-ups of `server seed`, which creates each demo row only when it is
-- missing.

-- name: SeedUserByEmail :one
SELECT id FROM users WHERE lower(email) = lower(@email) AND deleted_at IS NULL;

-- name: SeedShopByOwnerAndName :one
SELECT id FROM shops WHERE owner_id = @owner_id AND name = @name ORDER BY created_at, id LIMIT 1;

-- name: SeedProductByShopAndName :one
SELECT id FROM products WHERE shop_id = @shop_id AND name = @name AND deleted_at IS NULL
ORDER BY created_at, id LIMIT 1;

-- name: SeedOrderByUserAndShop :one
-- The first order a customer placed at a shop: the demo places one per pair.
SELECT id, status FROM orders WHERE user_id = @user_id AND shop_id = @shop_id ORDER BY created_at, id LIMIT 1;
