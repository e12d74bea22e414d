package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRetentionConfig: deliveries and analytics_events have a retention by
// default, which the environment can change but not turn off.
func TestRetentionConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envFunc())
	require.NoError(t, err)
	require.Equal(t, 30, cfg.DeliveryRetentionDays)
	require.Equal(t, 90, cfg.AnalyticsRetentionDays)

	cfg, err = loadConfig(envFunc("DELIVERY_RETENTION_DAYS", "7", "ANALYTICS_RETENTION_DAYS", "365"))
	require.NoError(t, err)
	require.Equal(t, 7, cfg.DeliveryRetentionDays)
	require.Equal(t, 365, cfg.AnalyticsRetentionDays)

	_, err = loadConfig(envFunc("DELIVERY_RETENTION_DAYS", "0", "ANALYTICS_RETENTION_DAYS", "forever"))
	require.ErrorContains(t, err, "DELIVERY_RETENTION_DAYS must be a positive integer")
	require.ErrorContains(t, err, "ANALYTICS_RETENTION_DAYS must be a positive integer")
}
