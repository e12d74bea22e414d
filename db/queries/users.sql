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
-- Deletes a user's account: the row stays (orders and shops reference it)
-- with its personal data erased, as the users_deleted_erased check requires.
UPDATE users SET
    deleted_at = now(),
    updated_at = now(),
    email = 'deleted-' || id || '@invalid',
    name = 'Deleted user',
    phone = NULL
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: UserDeletedAt :one
-- When a user was deleted (NULL: live); no row when there is no such user.
SELECT deleted_at FROM users WHERE id = @id;
