-- Sends are claimed before they go out: a deliveries row is written as
-- 'sending' in a short transaction, the provider is called outside any
-- transaction, and the row becomes 'sent' (or 'captured') in the transaction
-- that completes the job. sent_at is when that happened.
--
-- products.version counts the changes the search index shows. index_product
-- reads it with the product and completes its job only if it is unchanged,
-- so an update committed while the index was being written is never lost.

-- +goose Up
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('sending', 'sent', 'captured'));
ALTER TABLE deliveries ADD COLUMN sent_at timestamptz;
UPDATE deliveries SET sent_at = created_at;

ALTER TABLE products ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE products DROP COLUMN version;

DELETE FROM deliveries WHERE status = 'sending';
ALTER TABLE deliveries DROP COLUMN sent_at;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('sent', 'captured'));
