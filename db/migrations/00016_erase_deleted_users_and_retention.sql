-- Personal data goes only where it is needed.
--
-- A deleted user keeps its row (orders and shops reference it) but none of
-- its personal data: the email becomes 'deleted-<id>@invalid' (unique, and
-- not an address anyone can receive mail at), the name 'Deleted user', the
-- phone NULL. A CHECK keeps every deleted row that way; the rows deleted
-- before this migration are erased here.
--
-- analytics_events gets an index on created_at for its retention
-- (ANALYTICS_RETENTION_DAYS), which scheduled_cleanup deletes in batches;
-- deliveries already has one (deliveries_created_at_idx).

-- +goose Up
UPDATE users
SET email = 'deleted-' || id || '@invalid', name = 'Deleted user', phone = NULL
WHERE deleted_at IS NOT NULL;

ALTER TABLE users ADD CONSTRAINT users_deleted_erased CHECK (
    deleted_at IS NULL
    OR (email = 'deleted-' || id || '@invalid' AND name = 'Deleted user' AND phone IS NULL)
);

CREATE INDEX analytics_events_created_at_idx ON analytics_events (created_at);

-- +goose Down
DROP INDEX analytics_events_created_at_idx;
ALTER TABLE users DROP CONSTRAINT users_deleted_erased;
