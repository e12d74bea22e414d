-- name: AnalyticsEventInsertMany :execrows
-- Records a batch of analytics events; events already recorded (a batch sent
-- again after a crash) are skipped.
INSERT INTO analytics_events (event_id, name, user_id, properties, occurred_at)
SELECT unnest(@event_ids::text[]), unnest(@names::text[]), unnest(@user_ids::text[]),
       unnest(@properties::jsonb[]), unnest(@occurred_ats::timestamptz[])
ON CONFLICT (event_id, name) DO NOTHING;

-- name: AnalyticsEventDeleteOlderThan :execrows
-- Deletes at most max_rows analytics_events rows recorded before before;
-- the caller repeats it until it deletes fewer.
DELETE FROM analytics_events WHERE id IN (
    SELECT a.id FROM analytics_events a WHERE a.created_at < @before LIMIT @max_rows::int
);
