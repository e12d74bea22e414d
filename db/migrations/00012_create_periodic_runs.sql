-- Durable record of periodic runs: River keeps its periodic schedule in
-- memory only, so a daily run missed while every process was down would be
-- lost. scheduled_cleanup inserts (name, period_start) in the transaction that
-- does its work and completes its job; a run for a period already recorded does
-- nothing, so each period's work happens exactly once, and a missed period is
-- caught up by the run River inserts when a leader starts (RunOnStart).

-- +goose Up
CREATE TABLE periodic_runs (
    name         text NOT NULL,
    period_start timestamptz NOT NULL,
    job_id       bigint,
    completed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, period_start)
);

-- +goose Down
DROP TABLE periodic_runs;
