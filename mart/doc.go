// Package mart holds MohallaMart's domain writes: users, shops, products,
// orders and sessions. Each write is one transaction that changes its rows
// and publishes the events the change means through the outbox, so the rows,
// the events and their jobs commit together or not at all.
//
// Errors: invalid input is a *ValidationError naming each field; unknown ids
// wrap ErrNotFound; conflicts (a taken email, an order status that cannot
// follow the current one, not enough stock) wrap ErrConflict, and not enough
// stock is also an *InsufficientStockError.
package mart
