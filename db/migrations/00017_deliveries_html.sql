-- An email's HTML body, as its recipient sees it, next to the text body
-- (body). Empty for SMS and push, and for emails recorded before this
-- migration. The development mailbox (GET /dev/mailbox/{id}) shows it.

-- +goose Up
ALTER TABLE deliveries ADD COLUMN html text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN html;
