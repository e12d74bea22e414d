package flow

import (
	"context"
	"time"
)

// SleepUntil is a temporary stand-in until the flow branch lands.
func SleepUntil(ctx context.Context, name string, t time.Time) error {
	return Sleep(ctx, name, time.Until(t))
}
