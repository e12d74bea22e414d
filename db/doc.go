// Package db is MohallaMart's database: the goose migrations (embedded,
// db/migrations), the queries sqlc generates from db/queries (Queries), the
// DB interface that a pool or a transaction satisfies, and InTx, the one
// transaction helper.
package db
