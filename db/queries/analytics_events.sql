-- name: AnalyticsEventInsert :execrows
-- Records one analytics event; a second insert of the same (event_id, name),
-- as a retried job makes, changes nothing.
INSERT INTO analytics_events (event_id, name, user_id, properties, occurred_at)
VALUES (@event_id, @name, @user_id, @properties, @occurred_at)
ON CONFLICT (event_id, name) DO NOTHING;
