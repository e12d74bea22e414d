package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/apperr"
)

// stockError stands for a domain type carried as an internal cause.
type stockError struct{ available int }

func (e *stockError) Error() string { return fmt.Sprintf("only %d left", e.available) }

func TestOf(t *testing.T) {
	t.Parallel()
	fields := []apperr.FieldError{{Field: "email", Message: "must be a valid email address"}}
	tests := []struct {
		name    string
		err     error
		code    apperr.Code
		message string
		details []apperr.FieldError
	}{
		{name: "Nil", err: nil, code: "", message: ""},
		{name: "PlainIsInternal", err: errors.New("dial tcp 10.0.0.7:5432: connection refused"),
			code: apperr.Internal, message: "Internal server error."},
		{name: "Direct", err: apperr.Errorf(apperr.NotFound, "Order %s was not found.", "1234"),
			code: apperr.NotFound, message: "Order 1234 was not found."},
		{name: "Wrapped", err: fmt.Errorf("update order status: %w", apperr.Errorf(apperr.Conflict, "Order 1234 is delivered, which is final.")),
			code: apperr.Conflict, message: "Order 1234 is delivered, which is final."},
		{name: "CauseNotShown", err: &apperr.Error{Code: apperr.Unavailable, Message: "The database is unavailable; try again shortly.", Err: errors.New("password authentication failed")},
			code: apperr.Unavailable, message: "The database is unavailable; try again shortly."},
		{name: "Details", err: fmt.Errorf("create user: %w", &apperr.Error{Code: apperr.Invalid, Message: "The request is invalid.", Details: fields}),
			code: apperr.Invalid, message: "The request is invalid.", details: fields},
		{name: "EmptyMessage", err: &apperr.Error{Code: apperr.Conflict},
			code: apperr.Conflict, message: "Internal server error."},
		{name: "OutermostWins", err: &apperr.Error{Code: apperr.Unavailable, Message: "Try again.", Err: apperr.Errorf(apperr.NotFound, "Gone.")},
			code: apperr.Unavailable, message: "Try again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.code, apperr.CodeOf(tt.err))
			require.Equal(t, tt.message, apperr.MessageOf(tt.err))
			require.Equal(t, tt.details, apperr.DetailsOf(tt.err))
		})
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "MessageOnly", err: apperr.Errorf(apperr.NotFound, "User %s was not found.", "42"), want: "User 42 was not found."},
		{name: "WithCause", err: &apperr.Error{Code: apperr.Conflict, Message: "Not enough stock.", Err: &stockError{available: 1}},
			want: "Not enough stock: only 1 left"},
		{name: "Wrapped", err: fmt.Errorf("place order: %w", &apperr.Error{Code: apperr.Conflict, Message: "Not enough stock.", Err: &stockError{available: 1}}),
			want: "place order: Not enough stock: only 1 left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.EqualError(t, tt.err, tt.want)
		})
	}
}

func TestCause(t *testing.T) {
	t.Parallel()
	cause := &stockError{available: 3}
	err := fmt.Errorf("place order: %w", &apperr.Error{Code: apperr.Conflict, Message: "Not enough stock.", Err: cause})

	var got *stockError
	require.ErrorAs(t, err, &got, "the cause is reachable through Unwrap")
	require.Same(t, cause, got)
}

func TestIsMatchesCode(t *testing.T) {
	t.Parallel()
	errNotFound := apperr.Errorf(apperr.NotFound, "Not found.")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "SameCodeOtherMessage", err: fmt.Errorf("get order: %w", apperr.Errorf(apperr.NotFound, "Order 1 was not found.")), want: true},
		{name: "OtherCode", err: apperr.Errorf(apperr.Conflict, "Order 1 is final."), want: false},
		{name: "NoCode", err: errors.New("not found"), want: false},
		{name: "CodeOfCause", err: &apperr.Error{Code: apperr.Internal, Message: "x", Err: apperr.Errorf(apperr.NotFound, "y")}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, errors.Is(tt.err, errNotFound))
		})
	}
}
