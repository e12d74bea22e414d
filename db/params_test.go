package db_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
)

// TestParametersEncodeInPreferredFormat calls every generated query with
// sample arguments, and checks that pgx can encode each argument in the
// format it tries first for the parameter's type (text for a Go string,
// otherwise the type's preferred format, binary for most). pgx sends an
// argument it cannot encode that way in the other format, but only after
// building an encoding error and searching every encode plan again (it
// does not remember a failed one): with this project's sqlc override of
// uuid to string, a uuid[] parameter given a []string cost about 3 µs and
// 26 allocations at every call against 0.2 µs and 4 for a text[] one
// (BenchmarkArrayParameterEncoding), on ProductList and OrderPlace for
// every order. Such a query takes the ids as text[] and casts them itself:
// (@ids::text[])::uuid[].
func TestParametersEncodeInPreferredFormat(t *testing.T) {
	ctx := t.Context()
	calls := generatedCalls(ctx, t)
	require.NotEmpty(t, calls)
	conn := dbtest.TestTx(ctx, t).Conn()
	m := conn.TypeMap()
	for _, c := range calls {
		sd, err := conn.Prepare(ctx, "", c.sql)
		require.NoErrorf(t, err, "prepare %s", c.name)
		require.Lenf(t, c.args, len(sd.ParamOIDs), "%s: arguments", c.name)
		for i, oid := range sd.ParamOIDs {
			format := m.FormatCodeForOID(oid)
			switch c.args[i].(type) {
			case string, *string: // as pgx's ExtendedQueryBuilder chooses
				format = pgtype.TextFormatCode
			}
			if _, err := m.Encode(oid, format, c.args[i], nil); err != nil {
				t.Errorf("%s: parameter $%d (%T) is not encoded in its preferred format: %v", c.name, i+1, c.args[i], err)
			}
		}
	}
}

// call is one generated query as a method of db.Queries sends it.
type call struct {
	name string
	sql  string
	args []any
}

// generatedCalls calls every method of db.Queries that takes a context,
// with sample arguments (sampleValue), and returns the queries they send
// (db.Record).
func generatedCalls(ctx context.Context, t *testing.T) []call {
	t.Helper()
	qt := reflect.TypeFor[*db.Queries]()
	ctxType := reflect.TypeFor[context.Context]()
	var calls []call
	for i := range qt.NumMethod() {
		method := qt.Method(i)
		mt := method.Type // its receiver is In(0)
		if mt.NumIn() < 2 || mt.In(1) != ctxType {
			continue // WithTx
		}
		in := []reflect.Value{reflect.ValueOf(ctx)}
		for j := 2; j < mt.NumIn(); j++ {
			in = append(in, sampleValue(mt.In(j)))
		}
		sent, err := db.Record(func(q *db.Queries) error {
			reflect.ValueOf(q).Method(i).Call(in)
			return nil
		})
		require.NoError(t, err)
		require.NotEmptyf(t, sent, "%s sent no query", method.Name)
		last := sent[len(sent)-1]
		name, _ := dbtest.QueryName(last.SQL)
		require.Equalf(t, method.Name, name, "the query %s sends", method.Name)
		calls = append(calls, call{name: name, sql: last.SQL, args: last.Args})
	}
	return calls
}

// sampleValue returns a value of type t with every slice holding one
// element and every pointer set, so that encoding it exercises the
// element's encoding (a nil slice or pointer is sent as NULL).
func sampleValue(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch {
	case t == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Now()))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8: // []byte, json.RawMessage
		v.SetBytes([]byte("{}"))
	case t.Kind() == reflect.Slice:
		v.Set(reflect.Append(v, sampleValue(t.Elem())))
	case t.Kind() == reflect.Pointer:
		v.Set(reflect.New(t.Elem()))
		v.Elem().Set(sampleValue(t.Elem()))
	case t.Kind() == reflect.Struct && t.PkgPath() == reflect.TypeFor[db.Queries]().PkgPath():
		for i := range t.NumField() {
			v.Field(i).Set(sampleValue(t.Field(i).Type))
		}
	}
	return v
}

// BenchmarkArrayParameterEncoding measures what pgx spends on one array of
// two ids given as []string, declared uuid[] (binary fails, then text) and
// declared text[] (binary): the cost TestParametersEncodeInPreferredFormat
// keeps out of every query.
func BenchmarkArrayParameterEncoding(b *testing.B) {
	ids := []any{[]string{"6f1c2b7e-3a7c-4a8e-9c55-1d2a3b4c5d6e", "7a1c2b7e-3a7c-4a8e-9c55-1d2a3b4c5d6e"}}
	for _, param := range []struct {
		name string
		oid  uint32
	}{{"uuid[]", pgtype.UUIDArrayOID}, {"text[]", pgtype.TextArrayOID}} {
		b.Run(param.name, func(b *testing.B) {
			m := pgtype.NewMap()
			sd := &pgconn.StatementDescription{ParamOIDs: []uint32{param.oid}}
			var eqb pgx.ExtendedQueryBuilder
			b.ReportAllocs()
			for b.Loop() {
				if err := eqb.Build(m, sd, ids); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
