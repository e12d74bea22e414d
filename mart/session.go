package mart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/db"
)

// Session is a user's login session. Only a hash of its token is stored.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
	CreatedAt time.Time `json:"createdAt"`
}

// CreateSession starts a session for a live user lasting ttl and returns it
// with its bearer token, which is shown only here. Expired sessions are removed
// by the cleanup_expired_sessions job.
func (s *Service) CreateSession(ctx context.Context, userID string, ttl time.Duration) (*Session, string, error) {
	var f fieldErrors
	checkID(&f, "userId", userID)
	if ttl <= 0 {
		f.add("ttl", "must be positive")
	}
	if err := f.err(); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("create session: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(token))

	var session *Session
	err := s.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if _, err := q.UserGet(ctx, userID); err != nil {
			return invalidRef(err, "userId", "user "+userID)
		}
		row, err := q.SessionInsert(ctx, db.SessionInsertParams{UserID: userID, TokenHash: hash[:], ExpiresAt: time.Now().Add(ttl)})
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		session = &Session{ID: row.ID, UserID: row.UserID, ExpiresAt: row.ExpiresAt, CreatedAt: row.CreatedAt}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("create session: %w", err)
	}
	return session, token, nil
}
