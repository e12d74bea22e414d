-- The outbox's own tables: the event log and what workers produced from it.

-- +goose Up
CREATE TABLE events (
    -- The client's id when it gave one (the deduplication key), otherwise a ULID.
    id          text PRIMARY KEY CHECK (id <> '' AND char_length(id) <= 256),
    name        text NOT NULL CHECK (name <> '' AND char_length(name) <= 256),
    data        jsonb NOT NULL DEFAULT '{}',
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL DEFAULT ''
);
CREATE INDEX events_name_received_at_idx ON events (name, received_at);
CREATE INDEX events_received_at_idx ON events (received_at);

-- Every email, SMS and push message that was sent or captured. idempotency_key
-- (event id + function + recipient) makes a retried job find its earlier send.
CREATE TABLE deliveries (
    id                  bigserial PRIMARY KEY,
    job_id              bigint,
    event_id            text,
    channel             text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
    recipient           text NOT NULL,
    subject             text NOT NULL DEFAULT '',
    body                text NOT NULL DEFAULT '',
    provider            text NOT NULL,
    provider_message_id text NOT NULL DEFAULT '',
    status              text NOT NULL CHECK (status IN ('sent', 'captured')),
    idempotency_key     text NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_event_id_idx ON deliveries (event_id);
CREATE INDEX deliveries_created_at_idx ON deliveries (created_at);

-- The Postgres analytics sink: one row per tracked event.
CREATE TABLE analytics_events (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    name        text NOT NULL,
    user_id     text NOT NULL DEFAULT '',
    properties  jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, name)
);
CREATE INDEX analytics_events_name_occurred_at_idx ON analytics_events (name, occurred_at);

-- The Postgres full-text search index (the default search backend).
CREATE TABLE search_documents (
    type        text NOT NULL CHECK (type IN ('product', 'shop')),
    id          text NOT NULL,
    shop_id     text NOT NULL DEFAULT '',
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT '',
    price_paise bigint NOT NULL DEFAULT 0,
    stock       integer NOT NULL DEFAULT 0,
    document    tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('simple', name), 'A') ||
                    setweight(to_tsvector('simple', category), 'B') ||
                    setweight(to_tsvector('simple', description), 'C')
                ) STORED,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (type, id)
);
CREATE INDEX search_documents_document_idx ON search_documents USING gin (document);
CREATE INDEX search_documents_shop_id_idx ON search_documents (shop_id);

-- +goose Down
DROP TABLE search_documents;
DROP TABLE analytics_events;
DROP TABLE deliveries;
DROP TABLE events;
