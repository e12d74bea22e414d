-- Domain tables: the marketplace's own rows. Money is integer paise; ids are UUIDs.

-- +goose Up
CREATE TABLE users (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text NOT NULL CHECK (email <> '' AND char_length(email) <= 320),
    name       text NOT NULL CHECK (name <> '' AND char_length(name) <= 200),
    phone      text CHECK (phone IS NULL OR char_length(phone) <= 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A deleted user keeps its row (orders reference it) but frees its email.
    deleted_at timestamptz
);
-- One live account per email address, compared case-insensitively.
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE shops (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id   uuid NOT NULL REFERENCES users (id),
    name       text NOT NULL CHECK (name <> '' AND char_length(name) <= 200),
    address    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shops_owner_id_idx ON shops (owner_id);

CREATE TABLE products (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_id     uuid NOT NULL REFERENCES shops (id),
    name        text NOT NULL CHECK (name <> '' AND char_length(name) <= 200),
    description text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT '',
    price_paise bigint NOT NULL CHECK (price_paise >= 0),
    stock       integer NOT NULL CHECK (stock >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE INDEX products_shop_id_idx ON products (shop_id);

CREATE TABLE orders (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id),
    shop_id       uuid NOT NULL REFERENCES shops (id),
    status        text NOT NULL DEFAULT 'placed'
                  CHECK (status IN ('placed', 'confirmed', 'packed', 'out_for_delivery', 'delivered', 'cancelled')),
    total_paise   bigint NOT NULL CHECK (total_paise >= 0),
    cancel_reason text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE INDEX orders_shop_id_idx ON orders (shop_id);

CREATE TABLE order_items (
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  uuid NOT NULL REFERENCES products (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    price_paise bigint NOT NULL CHECK (price_paise >= 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

CREATE TABLE sessions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the session token; the token itself is never stored.
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE app_logs (
    id         bigserial PRIMARY KEY,
    level      text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message    text NOT NULL,
    attrs      jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX app_logs_created_at_idx ON app_logs (created_at);

-- +goose Down
DROP TABLE app_logs;
DROP TABLE sessions;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE products;
DROP TABLE shops;
DROP TABLE users;
