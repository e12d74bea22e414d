package jobs

import (
	"context"
	"fmt"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
)

// cleanupExpiredSessions deletes expired sessions, in batches of
// DeleteBatch, on cleanup/expired_sessions; one run at a time (singleton: a
// run asked for while one waits or runs is skipped). Deleting is
// idempotent, so retries are safe. scheduled-cleanup deletes them daily
// too, so an idle server runs nothing for them in between (an expired
// session is refused whether its row is there or not).
func (d *Deps) cleanupExpiredSessions() *fn.Function {
	return fn.New(fn.Options{
		ID: "cleanup-expired-sessions", Queue: QueueMaintenance, Retries: 4,
		Timeouts:  fn.Timeouts{Attempt: cleanupTimeout},
		Singleton: &fn.Singleton{Mode: fn.SingletonSkip},
	}, fn.On(events.NameCleanupExpiredSessions),
		func(ctx context.Context, _ fn.Input[events.Payload]) (any, error) {
			n, err := deleteExpiredSessions(ctx, db.New(d.DB), d.NowFunc())
			if err != nil {
				return nil, fmt.Errorf("cleanup expired sessions: %w", err)
			}
			return map[string]int64{"deleted": n}, nil
		})
}

// endUserSessions deletes every session of a deleted user (user/deleted
// from outside; mart.DeleteUser also deletes them in its own transaction).
func (d *Deps) endUserSessions() *fn.Function {
	return fn.New(fn.Options{ID: "end-user-sessions", Queue: QueueMaintenance, Retries: 4, Timeouts: fn.Timeouts{Attempt: cleanupTimeout}},
		fn.On(events.NameUserDeleted), func(ctx context.Context, in fn.Input[events.UserDeleted]) (any, error) {
			n, err := db.New(d.DB).SessionDeleteByUser(ctx, in.Data.UserID)
			if err != nil {
				return nil, fmt.Errorf("end sessions of user %s: %w", in.Data.UserID, err)
			}
			return map[string]int64{"deleted": n}, nil
		})
}
