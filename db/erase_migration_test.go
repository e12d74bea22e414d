package db_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/db/dbtest"
)

// TestMigrationErasesDeletedUsers: users deleted before deleted accounts
// were erased lose their email, name and phone when the migration runs.
func TestMigrationErasesDeletedUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	m, err := db.NewMigrator(pool)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })

	// Roll back to just before the erase migration (later ones first).
	for {
		res, err := m.Down(ctx)
		require.NoError(t, err)
		if strings.Contains(res.Source.Path, "erase_deleted_users") {
			break
		}
	}
	var deleted, live string
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO users (email, name, phone, deleted_at)
		VALUES ('gone@example.com', 'Gone', '+919876543210', now()) RETURNING id`).Scan(&deleted))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO users (email, name, phone)
		VALUES ('here@example.com', 'Here', '+919876543211') RETURNING id`).Scan(&live))

	_, err = m.Up(ctx)
	require.NoError(t, err)
	var email, name string
	var phone *string
	require.NoError(t, pool.QueryRow(ctx, `SELECT email, name, phone FROM users WHERE id = $1`, deleted).Scan(&email, &name, &phone))
	require.Equal(t, "deleted-"+deleted+"@invalid", email)
	require.Equal(t, "Deleted user", name)
	require.Nil(t, phone)
	require.NoError(t, pool.QueryRow(ctx, `SELECT email, name, phone FROM users WHERE id = $1`, live).Scan(&email, &name, &phone))
	require.Equal(t, "here@example.com", email, "live users are untouched")
	require.Equal(t, "+919876543211", *phone)
}
