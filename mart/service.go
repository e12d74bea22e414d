package mart

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
)

// Publisher stores events and enqueues their jobs in the caller's
// transaction; *outbox.Outbox implements it.
type Publisher interface {
	Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) ([]string, error)
}

// BatchPublisher is a Publisher that can also queue a publish in a
// pgx.Batch, after the write it belongs to, so that both reach PostgreSQL
// in one round trip; *outbox.Outbox implements it (Outbox.Queue). The
// caller sends the batch in its transaction and reads its results without
// error, then calls the returned func once, in the same transaction: it
// does the rest of the publish and returns what Publish returns.
// PlaceOrder uses it when the Service's Publisher is one.
type BatchPublisher interface {
	Publisher
	Queue(b *pgx.Batch, evs ...events.Event) (func(ctx context.Context, tx pgx.Tx) ([]string, error), error)
}

// Service performs MohallaMart's domain writes and reads.
type Service struct {
	db        db.DB
	publisher Publisher
}

// NewService returns a Service writing to database and publishing through
// publisher.
func NewService(database db.DB, publisher Publisher) *Service {
	return &Service{db: database, publisher: publisher}
}

// inTx runs fn in one transaction, committing when fn returns nil and rolling
// back otherwise.
func (s *Service) inTx(ctx context.Context, fn func(tx pgx.Tx, q *db.Queries) error) error {
	return db.InTx(ctx, s.db, func(tx pgx.Tx) error { return fn(tx, db.New(tx)) })
}

// publish builds events from payloads and publishes them in tx.
func (s *Service) publish(ctx context.Context, tx pgx.Tx, payloads ...events.Payload) error {
	if len(payloads) == 0 {
		return nil
	}
	evs, err := appEvents(payloads)
	if err != nil {
		return err
	}
	if _, err := s.publisher.Publish(ctx, tx, evs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// appEvents builds the events of payloads, as the app's.
func appEvents(payloads []events.Payload) ([]events.Event, error) {
	evs := make([]events.Event, len(payloads))
	for i, p := range payloads {
		ev, err := events.New(p)
		if err != nil {
			return nil, fmt.Errorf("build %s event: %w", p.EventName(), err)
		}
		ev.Source = "app"
		evs[i] = ev
	}
	return evs, nil
}

// notFound maps pgx.ErrNoRows to errNotFound(kind, id); kind is
// capitalized, as it starts the client's sentence ("Order").
func notFound(err error, kind, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound(kind, id)
	}
	return fmt.Errorf("load %s %s: %w", strings.ToLower(kind), id, err)
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation on
// the named constraint or index.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}

// isUUID reports whether s is a UUID in its 36-character text form, in
// either case (events.CanonicalUUID).
func isUUID(s string) bool {
	_, ok := events.CanonicalUUID(s)
	return ok
}

// lowerID returns id in lower case when it is a UUID, the form PostgreSQL
// prints and the rows' ids are compared in, and as it is otherwise (for
// checkID to report).
func lowerID(id string) string {
	if lower, ok := events.CanonicalUUID(id); ok {
		return lower
	}
	return id
}

// checkID adds a field error unless id is a UUID.
func checkID(f *fieldErrors, field, id string) {
	switch {
	case id == "":
		f.add(field, "is required")
	case !isUUID(id):
		f.add(field, "must be a UUID")
	}
}

// checkText adds a field error when a required text is empty or too long.
func checkText(f *fieldErrors, field, s string, maxLen int) {
	switch {
	case strings.TrimSpace(s) == "":
		f.add(field, "must not be empty")
	case len([]rune(s)) > maxLen:
		f.add(field, fmt.Sprintf("must be at most %d characters", maxLen))
	}
}

func checkEmail(f *fieldErrors, field, s string) {
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s || len(s) > 320 {
		f.add(field, "must be a valid email address")
	}
}

// checkPhone adds a field error unless s is absent, empty (no phone
// number) or an E.164 phone number such as +919800000001.
func checkPhone(f *fieldErrors, field string, s *string) {
	if s != nil && *s != "" && !events.ValidPhone(*s) {
		f.add(field, "must be an E.164 phone number, such as +919800000001")
	}
}

// invalidRef maps pgx.ErrNoRows for an id given in a request body to an
// invalid error on that field ("ownerId: user ... does not exist").
func invalidRef(err error, field, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return invalid(FieldError{Field: field, Message: what + " does not exist"})
	}
	return fmt.Errorf("load %s: %w", what, err)
}
