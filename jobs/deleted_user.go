package jobs

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
)

// cancelIfDeleted returns a cancellation when userID names a user whose
// account was deleted: nothing is sent to a deleted account (its address
// is erased anyway). An id that names no user here is no reason to cancel:
// events sent by the web app may name users this database does not hold.
func cancelIfDeleted(ctx context.Context, q *db.Queries, userID string) error {
	if uuid.Validate(userID) != nil {
		return nil // names no user here; asking would fail the query (and a transaction)
	}
	deletedAt, err := q.UserDeletedAt(ctx, userID)
	switch {
	case isNoRow(err):
		return nil
	case err != nil:
		return fmt.Errorf("load user %s: %w", userID, err)
	case deletedAt != nil:
		return river.JobCancel(fmt.Errorf("user %s was deleted", userID))
	}
	return nil
}
