-- Shared concurrency and rate limits (package limit; README, "Concurrency
-- and rate limits").
--
-- A row is a slot: the right to run one call (or job) under the limit named
-- by key, granted to job_id. It is held from granted_at until released_at,
-- or until expires_at when its holder died without releasing it. For a
-- concurrency limit, a slot counts while it is held; for a rate limit of N
-- per period, it counts until one period after it ends, so the calls made
-- in slots reach the other side at most N in any one period. Slots that no
-- longer count are deleted by the next grant on their key; every grant on a
-- key runs under a transaction-level advisory lock on that key.

-- +goose Up
CREATE TABLE limit_slots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL CHECK (key <> '' AND char_length(key) <= 256),
    job_id      bigint,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX limit_slots_key_idx ON limit_slots (key, coalesce(released_at, expires_at));

-- +goose Down
DROP TABLE limit_slots;
