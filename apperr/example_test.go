package apperr_test

import (
	"errors"
	"fmt"

	"github.com/mohallamart/backend/apperr"
)

// The public message is kept apart from the internal cause: clients read
// MessageOf, logs read the whole chain.
func Example() {
	cause := errors.New("dial tcp 10.0.0.7:5432: connect: connection refused")
	err := fmt.Errorf("get order: %w", &apperr.Error{
		Code:    apperr.Unavailable,
		Message: "The database is unavailable; try again shortly.",
		Err:     cause,
	})
	fmt.Println(apperr.CodeOf(err))
	fmt.Println(apperr.MessageOf(err))
	fmt.Println(err)

	// An error without a code is internal; its text is not for clients.
	fmt.Println(apperr.CodeOf(cause), "-", apperr.MessageOf(cause))
	// Output:
	// unavailable
	// The database is unavailable; try again shortly.
	// get order: The database is unavailable; try again shortly: dial tcp 10.0.0.7:5432: connect: connection refused
	// internal - Internal server error.
}

// A package exports one sentinel per code it returns; errors.Is matches it
// against every error of that code.
func ExampleError_Is() {
	errNotFound := apperr.Errorf(apperr.NotFound, "Not found.")
	err := fmt.Errorf("get user: %w", apperr.Errorf(apperr.NotFound, "User %s was not found.", "42"))

	fmt.Println(errors.Is(err, errNotFound))
	fmt.Println(apperr.MessageOf(err))
	// Output:
	// true
	// User 42 was not found.
}
