-- name: AppLogInsert :exec
INSERT INTO app_logs (level, message, attrs) VALUES (@level, @message, @attrs);

-- name: AppLogDeleteOlderThan :execrows
DELETE FROM app_logs WHERE created_at < @before;
