-- fn_paused: the functions an operator paused (package control). A paused
-- function's runs are held, not dropped: pausing moves its runs that are
-- ready to start (state available) to River's 'pending' state, which River
-- never fetches, in the transaction that inserts this row; a run fetched
-- while the row exists (enqueued since, or due later: a retry, a
-- scheduled or parked run) reads the row with its event at start and moves
-- itself to 'pending' instead of running. Resuming deletes the row and
-- makes the held runs available again (or scheduled, when their time is
-- still to come). The publish transaction never reads this table.

-- +goose Up
CREATE TABLE fn_paused (
    function  text PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now(),
    paused_by text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE fn_paused;
