package providererr_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/providererr"
)

func TestErrorFromStatus(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code                 int
		permanent, rateLimit bool
	}{
		{400, true, false}, {404, true, false}, {422, true, false},
		{401, false, false}, {403, false, false}, {408, false, false}, {409, false, false},
		{429, false, true}, {500, false, false}, {503, false, false},
	} {
		err := providererr.FromStatus("p", tt.code, time.Second, "m")
		require.Equal(t, tt.permanent, providererr.IsPermanent(err), tt.code)
		var rl *providererr.RateLimitError
		require.Equal(t, tt.rateLimit, errors.As(err, &rl), tt.code)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"2", 2 * time.Second}, {"0.5", 500 * time.Millisecond}, {"soon", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		require.Equal(t, tt.want, providererr.ParseRetryAfter(tt.v, now), tt.v)
	}
}
