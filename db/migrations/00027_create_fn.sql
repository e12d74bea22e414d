-- Tables of package fn's flow-control options, each used only by the
-- functions that declare the option (see docs/ARCHITECTURE.md, "Functions").
--
-- fn_idempotency: one row per (function, idempotency key) while its TTL
-- runs; Publish inserts it in the event's transaction and starts a run only
-- when the row is new or expired.
--
-- fn_debounce: one row per (function, debounce key) with a run pending. The
-- first event inserts it (and the run, scheduled at run_at); later events
-- replace event_id and move run_at, never past deadline. The run takes
-- (deletes) the row once run_at has come; an event after that starts a new
-- run.
--
-- fn_batch_events: events waiting for a batch run, per (function, key),
-- and for each batch with a run scheduled one mark row (event_id ''). The
-- first pending event of a batch inserts the mark and the run; the run
-- deletes the mark, then takes up to maxSize events, in one transaction
-- with the record of its step. An idle server inserts nothing. One table,
-- one index, no sequence: an order's transaction locks no more relations
-- than analytics_pending made it.
--
-- Tracked events waiting for analytics move from analytics_pending (the
-- periodic flush_analytics job's table) into fn_batch_events, as the batches
-- of the track-analytics function; analytics_pending stays as a view for
-- the operators' queries.

-- +goose Up
CREATE TABLE fn_idempotency (
    function   text NOT NULL,
    key        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (function, key)
);

CREATE TABLE fn_debounce (
    function text NOT NULL,
    key      text NOT NULL,
    event_id text NOT NULL,
    run_at   timestamptz NOT NULL,
    deadline timestamptz NOT NULL,
    PRIMARY KEY (function, key)
);

CREATE TABLE fn_batch_events (
    function text NOT NULL,
    key      text NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (function, key, event_id)
);

INSERT INTO fn_batch_events (function, key, event_id)
SELECT DISTINCT 'track-analytics', '', event_id FROM analytics_pending;
DROP TABLE analytics_pending;
CREATE VIEW analytics_pending AS
    SELECT event_id FROM fn_batch_events WHERE function = 'track-analytics' AND event_id <> '';

-- +goose Down
DROP VIEW analytics_pending;
CREATE TABLE analytics_pending (
    id            bigserial PRIMARY KEY,
    event_id      text NOT NULL,
    claimed_until timestamptz
);
INSERT INTO analytics_pending (event_id)
SELECT event_id FROM fn_batch_events WHERE function = 'track-analytics' AND event_id <> '' ORDER BY event_id;
DROP TABLE fn_batch_events;
DROP TABLE fn_debounce;
DROP TABLE fn_idempotency;
