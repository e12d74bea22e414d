-- name: ShopInsert :one
INSERT INTO shops (owner_id, name, address)
VALUES (@owner_id, @name, @address)
RETURNING *;

-- name: ShopGet :one
SELECT * FROM shops WHERE id = @id;

-- name: ShopOwnerGet :one
-- The shop's owner, even if the account was deleted since.
SELECT u.* FROM users u JOIN shops s ON s.owner_id = u.id WHERE s.id = @shop_id;
