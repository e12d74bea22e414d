-- Personal data goes only where it is needed.
--
-- A deleted user keeps its row (orders and shops reference it) but none of
-- its personal data: the email becomes 'deleted-<id>@invalid' (unique, and
-- not an address anyone can receive mail at), the name 'Deleted user', the
-- phone NULL. A CHECK keeps every deleted row that way; the rows deleted
-- before this migration are erased here.
--
-- The index on analytics_events.created_at that its retention
-- (ANALYTICS_RETENTION_DAYS) needs was first built here, inside this
-- migration's transaction, which blocks writes to the table while it
-- builds. 00025 builds it CONCURRENTLY instead; on a database that applied
-- the earlier text of this file, the index exists and 00025 keeps it.

-- +goose Up
UPDATE users
SET email = 'deleted-' || id || '@invalid', name = 'Deleted user', phone = NULL
WHERE deleted_at IS NOT NULL;

ALTER TABLE users ADD CONSTRAINT users_deleted_erased CHECK (
    deleted_at IS NULL
    OR (email = 'deleted-' || id || '@invalid' AND name = 'Deleted user' AND phone IS NULL)
);

-- +goose Down
ALTER TABLE users DROP CONSTRAINT users_deleted_erased;
