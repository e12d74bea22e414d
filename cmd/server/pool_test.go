package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
)

// TestPoolTurnsJITOff: the server's connections run with JIT compilation
// off, on every connection of the pool, unless DATABASE_URL sets jit.
func TestPoolTurnsJITOff(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL := dbtest.NewURL(ctx, t)

	pool, err := newPool(ctx, dbURL, 5*time.Second, 3)
	require.NoError(t, err)
	defer pool.Close()
	// Hold every connection at once, so each one's setting is read.
	for range 3 {
		conn, err := pool.Acquire(ctx)
		require.NoError(t, err)
		defer conn.Release()
		var jit string
		require.NoError(t, conn.QueryRow(ctx, "SHOW jit").Scan(&jit))
		require.Equal(t, "off", jit)
	}

	own, err := newPool(ctx, dbURL+"&jit=on", 5*time.Second, 2)
	require.NoError(t, err)
	defer own.Close()
	var jit string
	require.NoError(t, own.QueryRow(ctx, "SHOW jit").Scan(&jit))
	require.Equal(t, "on", jit, "a jit DATABASE_URL sets is kept")
}
