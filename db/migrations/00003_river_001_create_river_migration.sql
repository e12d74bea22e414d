-- River schema version 1 (create river migration), generated from the River module in go.mod by
-- `go test ./db -run TestRiverSchemaCurrent -update`. Do not edit.

-- +goose Up
-- +goose StatementBegin
CREATE TABLE river_migration(
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT NOW(),
  version bigint NOT NULL,
  CONSTRAINT version CHECK (version >= 1)
);

CREATE UNIQUE INDEX ON river_migration USING btree(version);

INSERT INTO river_migration (version) VALUES (1);
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DELETE FROM river_migration WHERE version = 1;

DROP TABLE river_migration;
-- +goose StatementEnd
