-- Tracked events waiting to be sent to the analytics sink. Publish inserts
-- one row per tracked event in the event's own transaction; the periodic
-- flush_analytics job claims rows in batches (claimed_until is a lease, so no
-- lock or transaction is held while the sink is called), sends each batch in
-- one request, then deletes the batch. A batch whose lease runs out unsent is
-- claimed again and sent again with the same $insert_id, which Mixpanel
-- deduplicates (the Postgres sink by its unique key).

-- +goose Up
CREATE TABLE analytics_pending (
    id            bigserial PRIMARY KEY,
    event_id      text NOT NULL,
    claimed_until timestamptz
);

-- +goose Down
DROP TABLE analytics_pending;
