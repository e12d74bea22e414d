-- name: UserInsert :one
INSERT INTO users (email, name, phone)
VALUES (@email, @name, sqlc.narg('phone'))
RETURNING *;

-- name: UserGet :one
SELECT * FROM users WHERE id = @id AND deleted_at IS NULL;

-- name: UserGetForUpdate :one
SELECT * FROM users WHERE id = @id AND deleted_at IS NULL FOR UPDATE;

-- name: UserUpdate :one
UPDATE users SET
    email = coalesce(sqlc.narg('email'), email),
    name = coalesce(sqlc.narg('name'), name),
    phone = coalesce(sqlc.narg('phone'), phone),
    updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserSoftDelete :one
UPDATE users SET deleted_at = now(), updated_at = now()
WHERE id = @id AND deleted_at IS NULL
RETURNING *;
