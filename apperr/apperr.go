// Package apperr is the error vocabulary shared by the domain and the HTTP
// API: an [*Error] carries a [Code] saying what kind of failure it is, a
// public Message written for clients, optional field [Details], and an
// internal cause that is never shown to clients.
//
// A package that detects a failure a client can act on (an unknown id, a
// taken email, an invalid field) returns an *Error with the sentence the
// client should read. Callers wrap it with context as usual
// (fmt.Errorf("place order: %w", err)); [CodeOf], [MessageOf] and
// [DetailsOf] find it again through the wrapping. Any error without an
// *Error in its chain is [Internal], and its text stays in the logs: clients
// read "Internal server error." and nothing of the detail.
//
// The HTTP API maps each code to one status (httpapi's httpStatus), so a
// package returning errors never thinks in HTTP statuses.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error by what the client can do about it.
type Code string

// The codes. Each maps to one HTTP status in the HTTP API.
const (
	// Invalid: the request is malformed or fails validation (400).
	Invalid Code = "invalid"
	// Unauthorized: the request lacks valid credentials (401).
	Unauthorized Code = "unauthorized"
	// Forbidden: the credentials are valid but do not open this route,
	// such as an event key on a REST route (403).
	Forbidden Code = "forbidden"
	// NotFound: the request names something that does not exist (404).
	NotFound Code = "not_found"
	// MethodNotAllowed: the path exists, but not for the request's method
	// (405).
	MethodNotAllowed Code = "method_not_allowed"
	// Conflict: the current state forbids the request, such as a taken
	// email or not enough stock (409).
	Conflict Code = "conflict"
	// Unprocessable: the request is valid but names things this service
	// does not hold, such as an event about a product never stored here;
	// the client must create them first (422).
	Unprocessable Code = "unprocessable"
	// TooLarge: the request exceeds a size or count limit (413).
	TooLarge Code = "too_large"
	// Misdirected: the request was sent to a host name this server does
	// not answer to, such as a development server reached by another name
	// than localhost (421).
	Misdirected Code = "misdirected"
	// RateLimited: the client sends faster than it may (429).
	RateLimited Code = "rate_limited"
	// Unavailable: a dependency such as the database cannot be reached;
	// the same request may succeed later (503).
	Unavailable Code = "unavailable"
	// Internal: a failure the client can do nothing about (500). It is the
	// code of every error that carries none.
	Internal Code = "internal"
)

// internalMessage is the public message of an error that has none.
const internalMessage = "Internal server error."

// FieldError names one invalid field of a request by its path, such as
// "items[0].quantity", and says what is wrong with it in lowercase
// ("must be between 1 and 10000").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error with a code and a public message.
type Error struct {
	// Code classifies the error.
	Code Code
	// Message is the sentence clients read, such as
	// "Order 1234 is delivered, which is final.". It must say nothing
	// internal.
	Message string
	// Details name the invalid fields of an Invalid error.
	Details []FieldError
	// Err is the internal cause, for logs and for Go callers (errors.As);
	// it is never shown to clients.
	Err error
}

// Errorf returns an *Error with code and the message
// fmt.Sprintf(format, args...). The message is public: it must not contain
// internal detail.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns the public message followed by the internal cause, if any:
// "Not enough stock for product 42: requested 2, available 1: <cause>".
// It is for logs and Go callers; clients get [MessageOf].
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return strings.TrimSuffix(e.Message, ".") + ": " + e.Err.Error()
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code. A package can
// thus export a sentinel per code it returns (var ErrNotFound =
// apperr.Errorf(apperr.NotFound, "Not found.")) that errors.Is matches
// against every error of that code, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the code of the first *Error in err's chain: "" for a nil
// err, Internal when the chain has no *Error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return Internal
}

// MessageOf returns the public message of the first *Error in err's chain:
// "" for a nil err, "Internal server error." when the chain has no *Error or
// its message is empty.
func MessageOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok && e.Message != "" {
		return e.Message
	}
	return internalMessage
}

// DetailsOf returns the field details of the first *Error in err's chain,
// or nil.
func DetailsOf(err error) []FieldError {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Details
	}
	return nil
}
