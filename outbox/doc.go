// Package outbox publishes events inside the caller's database transaction:
// the transactional outbox at the heart of MohallaMart's background work.
//
// # How it fits together
//
// A domain write (package mart) begins a transaction, changes its rows and
// calls Publish with the events the change means, then commits:
//
//	tx, _ := pool.Begin(ctx)
//	// INSERT INTO orders ...; UPDATE products SET stock = ...
//	ids, err := ob.Publish(ctx, tx, orderCreated, outOfStock)
//	// ...
//	tx.Commit(ctx)
//
// Publish never begins or commits. In the caller's transaction it
//
//   - validates every event (one invalid event: an *events.ValidationError,
//     nothing written) and puts the UUIDs of its data in lower case;
//   - gives the events, in order, to its Router (the fn.Registry of the
//     declared functions), which inserts one row per event into the events
//     table, skipping ids already stored (deduplication: a concurrent
//     transaction publishing the same id waits on the primary key until the
//     first commits or rolls back); wakes the jobs waiting for the new
//     events (flow.WakeTx: jobs parked by flow.WaitForEvent), so a
//     rolled-back event wakes none; and inserts the runs the new events
//     trigger (their River jobs' args carry event_id), applying the options
//     that act on publishing: idempotency, debounce, batches, singletons,
//     cancelOn. When no run needs more than its event, that is one
//     statement;
//   - fails the call with an *IDConflictError when an id was stored before
//     with another name or other data.
//
// So the domain rows, the event rows and the jobs commit together or not at
// all: no event is lost, and none is emitted for a write that rolled back.
// After COMMIT, River's LISTEN/NOTIFY wakes the workers (package jobs), which
// work each job at least once; the jobs record their effects (a message's
// deliveries row, a step's record) so a retry does not repeat them.
//
// # One round trip for a write and its events
//
// Queue is Publish in two parts, for a hot write: it queues the publish's
// statement in the caller's pgx.Batch, after the caller's own, so that the
// write and its events reach PostgreSQL in one round trip; the func it
// returns finishes the publish once the batch is read (mart.PlaceOrder
// sends an order's write and its order/created event so, with the order's
// id made by the client). A publish whose runs need more than their events
// (idempotency, debounce, singleton) queues nothing and is done whole by
// that func, as it is when the River client has insert middleware.
// Publish is Queue with a batch of its own.
//
// The package needs only a Router, never the workers or the providers they
// call, so an application that publishes from its own transactions links
// neither (TestInsertSideDependencies checks it). See
// docs/ARCHITECTURE.md for the whole flow.
package outbox
