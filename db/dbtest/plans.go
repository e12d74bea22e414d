package dbtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
)

// Plans is how often a connection ran one prepared statement with its
// generic plan and with a plan made for the call's values.
type Plans struct {
	Generic, Custom int64
}

// PreparedPlans returns the plan counts of the statements prepared on q's
// connection (pg_prepared_statements), by query name: the X of the
// "-- name: X :kind" line every generated statement starts with. Other
// statements are left out. PostgreSQL plans the first five calls of a
// statement for their values, then keeps the generic plan unless it costs
// more, so a statement planned once per connection has at most 5 Custom.
// q must hold one connection (a *pgx.Conn, or a pool of one), and every
// row is read before PreparedPlans returns.
func PreparedPlans(ctx context.Context, t testing.TB, q db.DBTX) map[string]Plans {
	t.Helper()
	rows, err := q.Query(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`)
	if err != nil {
		t.Fatalf("dbtest: read prepared statements: %v", err)
	}
	type row struct {
		Statement       string
		Generic, Custom int64
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatalf("dbtest: read prepared statements: %v", err)
	}
	plans := make(map[string]Plans, len(all))
	for _, r := range all {
		name, ok := QueryName(r.Statement)
		if !ok {
			continue
		}
		if _, dup := plans[name]; dup {
			t.Fatalf("dbtest: %s is prepared twice on one connection", name)
		}
		plans[name] = Plans{Generic: r.Generic, Custom: r.Custom}
	}
	return plans
}

// QueryName returns the name of a statement sqlc generated, from the
// "-- name: X :kind" line it starts with, and false for another statement.
func QueryName(sql string) (string, bool) {
	rest, ok := strings.CutPrefix(sql, "-- name: ")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, " ")
	return name, true
}
