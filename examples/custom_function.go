// Package examples holds the seed's own example function, declared with
// package fn as the Inngest setup taught it:
//
//	inngest.createFunction(
//	  { id: "custom-function", concurrency: { key: "event.data.userId", limit: 1 } },
//	  { event: "custom/event" },
//	  async ({ event, step }) => step.run("process-data", async () => ({ success: true })),
//	)
//
// Its Example (example_test.go) registers it, publishes a custom/event
// through the outbox and prints what the run recorded.
package examples

import (
	"context"
	"encoding/json"

	"github.com/mohallamart/backend/fn"
)

// processed is the output of the process-data step.
type processed struct {
	Success bool `json:"success"`
}

// CustomFunction is the seed's custom-function: on custom/event, one run per
// user at a time, with one step, process-data, whose output is the run's
// result. custom/event is not in the catalog, so the handler gets its data
// as raw JSON.
func CustomFunction() *fn.Function {
	return fn.New(fn.Options{ID: "custom-function", Concurrency: []fn.Concurrency{{Key: "data.userId", Limit: 1}}},
		fn.On("custom/event"),
		func(ctx context.Context, in fn.Input[json.RawMessage]) (any, error) {
			return fn.Run(ctx, "process-data", func(ctx context.Context) (processed, error) {
				return processed{Success: true}, nil
			})
		})
}
