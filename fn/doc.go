// Package fn declares background functions the way Inngest's
// createFunction does: an id, triggers (event names, an optional filter, or a
// cron schedule), options (retries, timeouts, concurrency, throttle,
// rateLimit, debounce, priority, batchEvents, idempotency, singleton,
// cancelOn, onFailure) and a handler that gets the event and runs steps.
//
//	var hello = fn.New(fn.Options{ID: "hello", Concurrency: []fn.Concurrency{{Key: "data.userId", Limit: 1}}},
//		fn.On("custom/event"),
//		func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
//			return fn.Run(ctx, "process-data", func(ctx context.Context) (map[string]bool, error) {
//				return map[string]bool{"success": true}, nil
//			})
//		})
//
// A Registry of functions is the only wiring. It derives everything else from
// the declarations:
//
//   - the routing table: Registry.Queue is the outbox.Router that Publish
//     and Queue call: it stores the events and inserts their runs in the
//     publisher's transaction (one statement, which can be sent in one
//     round trip with the publisher's own, when no run needs more than its
//     event);
//   - one River kind per function (the id with '-' as '_'), its queue,
//     attempts and priority;
//   - one worker per function (Registry.AddWorkers), which applies the
//     run-time options around the handler;
//   - the periodic jobs of cron triggers (Registry.PeriodicJobs);
//   - the catalog table of docs/ARCHITECTURE.md (Registry.Functions).
//
// Options that decide whether a run exists (idempotency, debounce,
// batchEvents, singleton, cancelOn) act when the event is published, in its
// transaction; options that decide when a run may go on (concurrency,
// throttle, rateLimit, timeouts) act when River works the job. Every option
// is one generic mechanism usable by any function; docs/functions.md maps each of
// Inngest's options and steps to ours.
//
// Steps are those of package flow (a finished step is never run again),
// plus SendEvent, Invoke and Parallel.
package fn
