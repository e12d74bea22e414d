-- name: SessionInsert :one
INSERT INTO sessions (user_id, token_hash, expires_at)
VALUES (@user_id, @token_hash, @expires_at)
RETURNING *;


-- name: SessionDeleteByUser :execrows
DELETE FROM sessions WHERE user_id = @user_id;

-- name: SessionDeleteExpired :execrows
DELETE FROM sessions WHERE expires_at <= @now;
