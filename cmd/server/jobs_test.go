package main

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/jobs"
)

func TestBuildJobs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"defaults", nil, []string{
			`capability=email backend="capture`, `capability=sms backend="capture`, `capability=push backend="capture`,
			`capability=search backend="postgres full-text`, `capability=analytics backend="postgres`,
		}},
		{"providers", map[string]string{
			"RESEND_API_KEY": "re_secret", "EMAIL_FROM": "MohallaMart <orders@mohallamart.in>", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tw_secret", "TWILIO_FROM": "+15005550006",
			"ONESIGNAL_APP_ID": "app", "ONESIGNAL_API_KEY": "os_secret", "TYPESENSE_URL": "http://localhost:8108",
			"TYPESENSE_API_KEY": "ts_secret", "MIXPANEL_TOKEN": "mp_secret", "OPS_EMAIL": "ops@example.com",
		}, []string{
			"capability=email backend=resend", "capability=sms backend=twilio", "capability=push backend=onesignal",
			"capability=search backend=typesense", "capability=analytics backend=mixpanel",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(func(k string) string { return tt.env[k] })
			require.NoError(t, err)
			var logs bytes.Buffer
			setup, err := buildJobs(ctx, cfg, pool, slog.New(slog.NewTextHandler(&logs, nil)))
			require.NoError(t, err)
			for _, w := range tt.want {
				require.Contains(t, logs.String(), w)
			}
			for _, secret := range []string{"re_secret", "tw_secret", "os_secret", "ts_secret", "mp_secret"} {
				require.NotContains(t, logs.String(), secret)
			}
			var rc river.Config
			setup.apply(&rc)
			require.NotNil(t, rc.Workers)
			require.Len(t, rc.PeriodicJobs, 3)
			require.Greater(t, rc.RescueStuckJobsAfter, jobs.MaxTimeout)
			require.Equal(t, 7*24*time.Hour, rc.CompletedJobRetentionPeriod)
			require.Len(t, rc.Middleware, 1, "the failure alerter")
		})
	}
}
