-- name: AppLogInsert :exec
INSERT INTO app_logs (level, message, attrs) VALUES (@level, @message, @attrs);

-- name: AppLogDeleteOlderThan :execrows
-- Deletes at most max_rows app_logs rows older than before; the caller
-- repeats it until it deletes fewer.
DELETE FROM app_logs WHERE id IN (
    SELECT l.id FROM app_logs l WHERE l.created_at < @before LIMIT @max_rows::int
);
