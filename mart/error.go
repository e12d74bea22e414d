package mart

import (
	"fmt"
	"strings"

	"github.com/mohallamart/backend/apperr"
)

// ErrNotFound matches, with errors.Is, every error of code apperr.NotFound:
// an id that names no row.
var ErrNotFound = apperr.Errorf(apperr.NotFound, "Not found.")

// ErrConflict matches, with errors.Is, every error of code apperr.Conflict:
// a write the current state forbids.
var ErrConflict = apperr.Errorf(apperr.Conflict, "Conflict.")

// FieldError names one invalid field of a request by its JSON path, such as
// "items[0].quantity".
type FieldError = apperr.FieldError

// ValidationError lists every invalid field of a request; nothing was
// written. It is the internal cause of an apperr.Invalid error whose Details
// are the same fields.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// invalid is the apperr.Invalid error for fields, with a *ValidationError
// as its cause.
func invalid(fields ...FieldError) error {
	return &apperr.Error{Code: apperr.Invalid, Message: "The request is invalid.", Details: fields, Err: &ValidationError{Fields: fields}}
}

// InsufficientStockError says an order asked for more of a product than is in
// stock; nothing was written. It is the internal cause of an apperr.Conflict
// error, so it matches ErrConflict with errors.Is.
type InsufficientStockError struct {
	ProductID string
	Requested int
	Available int
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("not enough stock for product %s: requested %d, available %d", e.ProductID, e.Requested, e.Available)
}

// insufficientStock is the apperr.Conflict error for not enough stock, with
// an *InsufficientStockError as its cause.
func insufficientStock(productID string, requested, available int) error {
	return &apperr.Error{
		Code:    apperr.Conflict,
		Message: fmt.Sprintf("Not enough stock for product %s: requested %d, available %d.", productID, requested, available),
		Err:     &InsufficientStockError{ProductID: productID, Requested: requested, Available: available},
	}
}

// errNotFound is the apperr.NotFound error for an id that names no row of
// kind ("Order"): "Order 1234 was not found.".
func errNotFound(kind, id string) error {
	return apperr.Errorf(apperr.NotFound, "%s %s was not found.", kind, id)
}

// fieldErrors collects field errors while a request is checked.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, message string) {
	*f = append(*f, FieldError{Field: field, Message: message})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid(f...)
}
