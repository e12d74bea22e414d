package db_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// TestNoUUIDArrayParameters prepares every generated query and checks that
// PostgreSQL gives none of them a uuid[] parameter. sqlc passes such a
// parameter as []string, which pgx cannot send in the binary format it
// prefers for uuid[]: each call first fails that encoding (building an
// error and searching every encode plan again, since a failed plan is not
// remembered), then sends the array as text. That cost 3.4 µs a parameter
// against 0.23 µs for a text[] one (a pgx ExtendedQueryBuilder benchmark),
// on ProductList and OrderPlace for every order. A query takes the ids as
// text[] and casts them itself: (@ids::text[])::uuid[].
func TestNoUUIDArrayParameters(t *testing.T) {
	ctx := t.Context()
	queries := generatedQueries(t)
	require.Greater(t, len(queries), 100, "queries found")
	tx := dbtest.TestTx(ctx, t)
	for name, sql := range queries {
		sd, err := tx.Conn().Prepare(ctx, "", sql)
		require.NoErrorf(t, err, "prepare %s", name)
		for i, oid := range sd.ParamOIDs {
			require.NotEqualf(t, uint32(pgtype.UUIDArrayOID), oid,
				"%s: parameter $%d is uuid[]; take it as text[] and cast it in the query", name, i+1)
		}
	}
}

// generatedQueries returns the SQL of every query sqlc generated in this
// package, by query name: the string constants of the *_gen.go files that
// start with sqlc's "-- name:" line.
func generatedQueries(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*_gen.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			sql, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
				name, _, _ := strings.Cut(rest, " ")
				out[name] = sql
			}
			return true
		})
	}
	return out
}
