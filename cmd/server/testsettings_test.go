package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestApplyTestSettings: TEST_MAX_ATTEMPTS lowers (never raises) the
// attempts of the jobs inserted, TEST_RETRY_DELAY retries after that
// delay; without them River's configuration is left alone.
func TestApplyTestSettings(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	var rc river.Config
	applyTestSettings(t.Context(), Config{}, &rc, logger)
	require.Empty(t, rc.Middleware)
	require.Nil(t, rc.RetryPolicy)

	applyTestSettings(t.Context(), Config{TestMaxAttempts: 3, TestRetryDelay: 200 * time.Millisecond}, &rc, logger)
	require.Len(t, rc.Middleware, 1)
	capper, ok := rc.Middleware[0].(rivertype.JobInsertMiddleware)
	require.True(t, ok)
	params := []*rivertype.JobInsertParams{{MaxAttempts: 10}, {MaxAttempts: 2}}
	_, err := capper.InsertMany(t.Context(), params, func(context.Context) ([]*rivertype.JobInsertResult, error) { return nil, nil })
	require.NoError(t, err)
	require.Equal(t, 3, params[0].MaxAttempts)
	require.Equal(t, 2, params[1].MaxAttempts)
	before := time.Now()
	next := rc.RetryPolicy.NextRetry(&rivertype.JobRow{Attempt: 5})
	after := time.Now()
	require.False(t, next.Before(before.Add(200*time.Millisecond)) || next.After(after.Add(200*time.Millisecond)),
		"retry at %s, want 200ms after %s", next, before)
}
