package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
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
			setup, err := buildJobs(ctx, cfg, pool, slog.New(slog.NewTextHandler(&logs, nil)), nil)
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
			var scheduled int
			for _, f := range setup.registry.Functions() {
				for _, tr := range f.Triggers() {
					if tr.Schedule != nil {
						scheduled++
					}
				}
			}
			require.NotZero(t, scheduled)
			require.Len(t, rc.PeriodicJobs, scheduled, "a periodic job per schedule trigger of the functions")
			require.Equal(t, jobs.RescueAfter, rc.RescueStuckJobsAfter)
			require.Equal(t, 7*24*time.Hour, rc.CompletedJobRetentionPeriod)
			require.Len(t, rc.Middleware, 1, "the failure alerter")
		})
	}
}

// runArgs are the args of a function's run as package fn stores them
// (fn.Args), under the function's River kind.
type runArgs struct {
	kind    string
	EventID string     `json:"event_id,omitempty"`
	V       int        `json:"v,omitempty"`
	Period  *time.Time `json:"period,omitempty"`
}

func (a runArgs) Kind() string { return a.kind }

// TestStuckJobRescue runs River's rescuer with the workers' configuration
// (buildJobs, apply) on jobs a killed process left running: the send
// (30 s timeout) started 5 minutes ago is retried, and so is the daily
// cleanup started 11 minutes ago, past its 10-minute timeout, while the
// cleanup started 5 minutes ago, within it, stays running; with every
// timeout capped at 6 s (TEST_MAX_JOB_TIMEOUT), that one is retried too. All are in the rescuer's first run, so once the retried
// jobs have run again the others were looked at and left alone.
func TestStuckJobRescue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		env           []string
		withinRetried bool
	}{
		{"production", nil, false},
		{"timeouts capped at 6s", []string{"TEST_MAX_JOB_TIMEOUT", "6s"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			pool := dbtest.NewPool(ctx, t)
			logger := slog.New(slog.DiscardHandler)
			cfg, err := loadConfig(envFunc(tt.env...))
			require.NoError(t, err)
			setup, err := buildJobs(ctx, cfg, pool, logger, nil)
			require.NoError(t, err)
			rc := &river.Config{Logger: logger, Queues: jobs.Queues(cfg.QueueWorkers, cfg.FetchCooldown, cfg.FetchPoll)}
			setup.apply(rc)
			client, err := river.NewClient(riverpgxv5.New(pool), rc)
			require.NoError(t, err)

			// Inserted before the client starts, so none is fetched before
			// it is made a dead process's running job.
			running := func(args runArgs, queue string, startedAgo time.Duration) int64 {
				t.Helper()
				res, err := client.Insert(ctx, args, &river.InsertOpts{Queue: queue})
				require.NoError(t, err)
				_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
					attempted_at = now() - make_interval(secs => $2), attempted_by = ARRAY['killed-process'] WHERE id = $1`,
					res.Job.ID, startedAgo.Seconds())
				require.NoError(t, err)
				return res.Job.ID
			}
			cleanup := func(day int) runArgs {
				period := time.Date(2000, 1, day, 3, 0, 0, 0, time.UTC)
				return runArgs{kind: "scheduled_cleanup", Period: &period, V: 1}
			}
			send := running(runArgs{kind: "send_order_confirmation", EventID: "order-1", V: 1}, jobs.QueueEmail, 5*time.Minute)
			overdue := running(cleanup(1), jobs.QueueMaintenance, 11*time.Minute)
			within := running(cleanup(2), jobs.QueueMaintenance, 5*time.Minute)
			retried := map[int64]bool{send: false, overdue: false}
			if tt.withinRetried {
				retried[within] = false
			}

			ran, cancelSub := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
			defer cancelSub()
			require.NoError(t, client.Start(ctx))
			t.Cleanup(func() { _ = client.Stop(context.WithoutCancel(ctx)) })

			// hungAfter only ends a test whose jobs are never retried.
			hung := time.NewTimer(hungAfter)
			defer hung.Stop()
			for left := len(retried); left > 0; {
				select {
				case ev := <-ran:
					if done, ok := retried[ev.Job.ID]; !ok || done {
						continue
					}
					require.Equal(t, 2, ev.Job.Attempt, "job %d (%s) runs again as its second attempt", ev.Job.ID, ev.Job.Kind)
					require.NotEmpty(t, ev.Job.Errors)
					require.Equal(t, "Stuck job rescued by JobRescuer", ev.Job.Errors[0].Error, "job %d (%s)", ev.Job.ID, ev.Job.Kind)
					retried[ev.Job.ID] = true
					left--
				case <-hung.C:
					t.Fatalf("after %s, jobs retried: %v (send %d, overdue cleanup %d, cleanup within its timeout %d)", hungAfter, retried, send, overdue, within)
				}
			}
			if !tt.withinRetried {
				var state string
				var errs int
				require.NoError(t, pool.QueryRow(ctx, `SELECT state, coalesce(array_length(errors, 1), 0) FROM river_job WHERE id = $1`, within).Scan(&state, &errs))
				require.Equal(t, "running", state, "the cleanup within its 10-minute timeout is left running")
				require.Zero(t, errs)
			}
		})
	}
}
