package mart

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// User is a customer or shop owner account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Phone     *string   `json:"phone"`
	CreatedAt time.Time `json:"createdAt"`
}

func userFromRow(r *db.User) *User {
	return &User{ID: r.ID, Email: r.Email, Name: r.Name, Phone: r.Phone, CreatedAt: r.CreatedAt}
}

// CreateUserParams are the fields of a new user.
type CreateUserParams struct {
	Email string
	Name  string
	Phone *string
}

// CreateUser creates a user and publishes user/created. A live account with
// the same email (compared case-insensitively) is a conflict.
func (s *Service) CreateUser(ctx context.Context, p CreateUserParams) (*User, error) {
	var f fieldErrors
	checkEmail(&f, "email", p.Email)
	checkText(&f, "name", p.Name, 200)
	checkPhone(&f, "phone", p.Phone)
	if err := f.err(); err != nil {
		return nil, err
	}
	if p.Phone != nil && *p.Phone == "" {
		p.Phone = nil
	}
	var user *User
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.UserInsert(ctx, db.UserInsertParams{Email: p.Email, Name: p.Name, Phone: p.Phone})
		if isUniqueViolation(err, "users_email_key") {
			return apperr.Errorf(apperr.Conflict, "Email %s is already registered.", p.Email)
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		user = userFromRow(row)
		ev := &events.UserCreated{UserID: row.ID, Email: row.Email, Name: row.Name}
		if row.Phone != nil {
			ev.Phone = *row.Phone
		}
		return s.publish(ctx, tx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return user, nil
}

// GetUser returns a live user.
func (s *Service) GetUser(ctx context.Context, id string) (*User, error) {
	if !isUUID(id) {
		return nil, errNotFound("User", id)
	}
	row, err := db.New(s.db).UserGet(ctx, id)
	if err != nil {
		return nil, notFound(err, "User", id)
	}
	return userFromRow(row), nil
}

// UpdateUserParams are a user's changed fields; nil fields are kept.
type UpdateUserParams struct {
	Email *string
	Name  *string
	Phone *string
}

// UpdateUser changes a user's fields and publishes user/updated with the
// fields it changed. With no field set it changes and publishes nothing,
// and returns the user as it is.
func (s *Service) UpdateUser(ctx context.Context, id string, p UpdateUserParams) (*User, error) {
	if p == (UpdateUserParams{}) {
		current, err := s.GetUser(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		return current, nil
	}
	var f fieldErrors
	if p.Email != nil {
		checkEmail(&f, "email", *p.Email)
	}
	if p.Name != nil {
		checkText(&f, "name", *p.Name, 200)
	}
	checkPhone(&f, "phone", p.Phone)
	if err := f.err(); err != nil {
		return nil, err
	}
	if !isUUID(id) {
		return nil, fmt.Errorf("update user: %w", errNotFound("User", id))
	}
	var user *User
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.UserUpdate(ctx, db.UserUpdateParams{ID: id, Email: p.Email, Name: p.Name, Phone: p.Phone})
		if isUniqueViolation(err, "users_email_key") {
			return apperr.Errorf(apperr.Conflict, "Email %s is already registered.", *p.Email)
		}
		if err != nil {
			return notFound(err, "User", id)
		}
		user = userFromRow(row)
		return s.publish(ctx, tx, &events.UserUpdated{UserID: id, Email: p.Email, Name: p.Name, Phone: p.Phone})
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return user, nil
}

// DeleteUser deletes a user's account, removes its sessions and publishes
// user/deleted. The row stays for the orders and shops that reference it,
// with its personal data erased: the email becomes
// "deleted-<id>@invalid" (so the address can be registered again), the
// name "Deleted user", the phone empty. Jobs still queued for the user
// (emails, push) find the account deleted and are cancelled.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("delete user: %w", errNotFound("User", id))
	}
	err := s.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if _, err := q.UserSoftDelete(ctx, id); err != nil {
			return notFound(err, "User", id)
		}
		if _, err := q.SessionDeleteByUser(ctx, id); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		return s.publish(ctx, tx, &events.UserDeleted{UserID: id})
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}
