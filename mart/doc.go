// Package mart holds MohallaMart's domain writes: users, shops, products,
// orders and sessions. Each write is one transaction that changes its rows
// and publishes the events the change means through the outbox, so the rows,
// the events and their jobs commit together or not at all.
//
// Errors a client can act on are *apperr.Error values whose Message is the
// sentence the client reads. Invalid input is apperr.Invalid with Details
// naming each field (its cause a *ValidationError). Unknown ids are
// apperr.NotFound ("Order 1234 was not found."), matching ErrNotFound with
// errors.Is. Conflicts (a taken email, an order status that cannot follow the
// current one, not enough stock) are apperr.Conflict, matching ErrConflict;
// not enough stock has an *InsufficientStockError as its cause. Any other
// error is a failure of the database or the outbox.
package mart
