package mart

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is wrapped by errors about ids that name no row.
var ErrNotFound = errors.New("not found")

// ErrConflict is wrapped by errors about writes the current state forbids.
var ErrConflict = errors.New("conflict")

// FieldError names one invalid field of a request by its JSON path, such as
// "items[0].quantity".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid field of a request; nothing was written.
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

// InsufficientStockError says an order asked for more of a product than is in
// stock; nothing was written. It matches ErrConflict with errors.Is.
type InsufficientStockError struct {
	ProductID string
	Requested int
	Available int
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("not enough stock for product %s: requested %d, available %d", e.ProductID, e.Requested, e.Available)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *InsufficientStockError) Is(target error) bool { return target == ErrConflict }

// fieldErrors collects field errors while a request is checked.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, message string) { *f = append(*f, FieldError{field, message}) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}
