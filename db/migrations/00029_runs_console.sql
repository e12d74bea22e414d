-- What the operator's console (package runs) shows of a run that River does
-- not keep.
--
-- flow_steps.started_at: when the step began, known to package flow in
-- memory while the step runs and written with its record (no statement of
-- its own). Rows recorded before this column have none. A sleep's
-- started_at is when it began and its completed_at its wake time; a wait's
-- started_at is when the wait was registered.
--
-- run_logs: the lines a run logged, one row per attempt that logged any
-- (bounded by the writer: see runs.LogMiddleware), written once when the
-- attempt ends. An attempt that logs nothing writes nothing. The rows go
-- with their job when River's job cleaner deletes it, as flow_steps do, so
-- River's retention is theirs.

-- +goose Up
ALTER TABLE flow_steps ADD COLUMN started_at timestamptz;

CREATE TABLE run_logs (
    job_id    bigint NOT NULL REFERENCES river_job (id) ON DELETE CASCADE,
    attempt   smallint NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT now(),
    lines     text[] NOT NULL,
    truncated integer NOT NULL DEFAULT 0
);
CREATE INDEX run_logs_job_id_idx ON run_logs (job_id);

-- +goose Down
DROP TABLE run_logs;
ALTER TABLE flow_steps DROP COLUMN started_at;
