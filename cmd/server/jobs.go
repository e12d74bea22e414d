package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/analytics/mixpanel"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/internal/jobmetrics"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/notify"
	"github.com/mohallamart/backend/notify/onesignal"
	"github.com/mohallamart/backend/notify/resend"
	"github.com/mohallamart/backend/notify/twilio"
)

// jobSetup is what a worker process adds to its River configuration.
type jobSetup struct {
	registry     *fn.Registry
	workers      *river.Workers
	periodicJobs []*river.PeriodicJob
	alerter      *jobs.FailureAlerter
	// retention is how long finished River jobs are kept.
	retention time.Duration
	// rescueAfter is River's RescueStuckJobsAfter: jobs.RescueAfter, or
	// TEST_MAX_JOB_TIMEOUT when that is shorter.
	rescueAfter time.Duration
}

// apply sets the workers, periodic jobs, failure alerts, stuck-job rescue
// and job retention in c.
func (s *jobSetup) apply(c *river.Config) {
	c.Workers = s.workers
	c.PeriodicJobs = s.periodicJobs
	c.Middleware = append(c.Middleware, s.alerter)
	// River refuses a RescueStuckJobsAfter below JobTimeout, the timeout of
	// a worker without one of its own (every worker here has one).
	c.RescueStuckJobsAfter = s.rescueAfter
	c.JobTimeout = s.rescueAfter
	c.CompletedJobRetentionPeriod = s.retention
	c.CancelledJobRetentionPeriod = s.retention
	c.DiscardedJobRetentionPeriod = s.retention
}

// buildJobs builds the providers from cfg (each outside service when its
// credentials are set, the Postgres default otherwise, logging which), and
// the workers and periodic jobs a worker process runs; metrics (nil: none)
// counts the runs a rateLimit drops.
func buildJobs(ctx context.Context, cfg Config, pool *pgxpool.Pool, logger *slog.Logger, metrics *jobmetrics.Metrics) (*jobSetup, error) {
	deps, err := jobDeps(cfg, pool, logger)
	if err != nil {
		return nil, err
	}
	if metrics != nil {
		deps.Dropped = metrics.RunDropped
	}
	backend := func(capability, name string, attrs ...slog.Attr) {
		logger.LogAttrs(ctx, slog.LevelInfo, "Job backend", append([]slog.Attr{
			slog.String("capability", capability), slog.String("backend", name),
		}, attrs...)...)
	}

	if cfg.ResendAPIKey != "" {
		m, err := resend.New(resend.Opts{APIKey: cfg.ResendAPIKey, From: cfg.EmailFrom, BaseURL: cfg.ResendBaseURL, Timeout: cfg.ProviderTimeout})
		if err != nil {
			return nil, err
		}
		deps.Mailer = m
		backend("email", "resend", slog.String("from", cfg.EmailFrom), slog.String("base_url", orDefault(cfg.ResendBaseURL)))
	} else {
		deps.Mailer = notify.Capture{}
		backend("email", "capture (deliveries table; RESEND_API_KEY unset)")
	}

	if cfg.TwilioAccountSID != "" && cfg.TwilioAuthToken != "" && cfg.TwilioFrom != "" {
		s, err := twilio.New(twilio.Opts{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom, BaseURL: cfg.TwilioBaseURL,
			Timeout: cfg.ProviderTimeout,
		})
		if err != nil {
			return nil, err
		}
		deps.SMS = s
		backend("sms", "twilio", slog.String("from", cfg.TwilioFrom), slog.String("base_url", orDefault(cfg.TwilioBaseURL)))
	} else {
		deps.SMS = notify.Capture{}
		backend("sms", "capture (deliveries table; TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN/TWILIO_FROM unset)")
	}

	if cfg.OneSignalAppID != "" && cfg.OneSignalAPIKey != "" {
		p, err := onesignal.New(onesignal.Opts{
			AppID: cfg.OneSignalAppID, APIKey: cfg.OneSignalAPIKey, BaseURL: cfg.OneSignalBaseURL, Timeout: cfg.ProviderTimeout,
		})
		if err != nil {
			return nil, err
		}
		deps.Push = p
		backend("push", "onesignal", slog.String("app_id", cfg.OneSignalAppID), slog.String("base_url", orDefault(cfg.OneSignalBaseURL)))
	} else {
		deps.Push = notify.Capture{}
		backend("push", "capture (deliveries table; ONESIGNAL_APP_ID/ONESIGNAL_API_KEY unset)")
	}

	ix, err := typesenseIndex(cfg)
	if err != nil {
		return nil, err
	}
	if ix != nil {
		deps.Index = ix
		backend("search", "typesense", slog.String("url", cfg.TypesenseURL))
	} else {
		// Deps.Index stays nil: search.Postgres, in each index job's own transaction.
		backend("search", "postgres full-text (search_documents; TYPESENSE_URL/TYPESENSE_API_KEY unset)")
	}

	if cfg.MixpanelToken != "" {
		s, err := mixpanel.New(mixpanel.Opts{
			Token: cfg.MixpanelToken, BaseURL: cfg.MixpanelBaseURL, Timeout: cfg.ProviderTimeout,
		})
		if err != nil {
			return nil, err
		}
		deps.Analytics = s
		backend("analytics", "mixpanel", slog.String("base_url", orDefault(cfg.MixpanelBaseURL)))
	} else {
		deps.Analytics = analytics.NewPostgres(pool)
		backend("analytics", "postgres (analytics_events; MIXPANEL_TOKEN unset)")
	}

	reg, err := jobs.NewRegistry(deps)
	if err != nil {
		return nil, err
	}
	if metrics != nil {
		for _, f := range reg.Functions() {
			if f.Options().RateLimit != nil {
				metrics.ExpectDrops(f.ID())
			}
		}
	}
	workers := river.NewWorkers()
	if err := jobs.AddWorkers(workers, reg, deps); err != nil {
		return nil, err
	}
	periodic, err := reg.PeriodicJobs()
	if err != nil {
		return nil, err
	}
	cleanupWhen := "daily at " + cfg.CleanupAt + " " + cfg.CleanupTimezone
	if cfg.TestCleanupEvery > 0 {
		cleanupWhen = "every " + cfg.TestCleanupEvery.String() + " (TEST_CLEANUP_EVERY)"
	}
	logger.InfoContext(ctx, "Periodic jobs",
		slog.String("scheduled_cleanup", cleanupWhen),
		slog.Int("log_retention_days", cfg.LogRetentionDays),
		slog.Int("event_retention_days", cfg.EventRetentionDays),
		slog.Int("delivery_retention_days", cfg.DeliveryRetentionDays),
		slog.Int("analytics_retention_days", cfg.AnalyticsRetentionDays),
		slog.Int("job_retention_days", cfg.JobRetentionDays))

	alerter := &jobs.FailureAlerter{DB: pool, Router: reg, OpsEmail: cfg.OpsEmail, Logger: logger}
	if cfg.OpsEmail == "" {
		logger.InfoContext(ctx, "Failed-job alerts are off (OPS_EMAIL unset)")
	}

	return &jobSetup{
		registry:     reg,
		workers:      workers,
		periodicJobs: periodic,
		alerter:      alerter,
		retention:    days(cfg.JobRetentionDays),
		rescueAfter:  rescueAfter(cfg),
	}, nil
}

// jobDeps are the functions' settings from cfg, without providers (which
// buildJobs adds): enough for the registry's routing table, which a
// ROLE=api process needs to publish.
func jobDeps(cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (jobs.Deps, error) {
	cleanup, err := jobs.CleanupSchedule(cfg.CleanupAt, cfg.CleanupTimezone, cfg.TestCleanupEvery)
	if err != nil {
		return jobs.Deps{}, fmt.Errorf("CLEANUP_AT/CLEANUP_TIMEZONE: %w", err)
	}
	return jobs.Deps{
		DB:                   pool,
		ProviderTimeout:      cfg.ProviderTimeout,
		IndexDebounce:        cfg.IndexDebounce,
		SendLimits:           cfg.ProviderRates,
		Logger:               logger,
		MaxTimeout:           cfg.TestMaxTimeout,
		Cleanup:              cleanup,
		NotificationsPerHour: cfg.NotificationsPerHour,
		AnalyticsBatchWait:   cfg.AnalyticsBatchWait,
		Retention: jobs.Retention{
			Logs:       days(cfg.LogRetentionDays),
			Events:     days(cfg.EventRetentionDays),
			Deliveries: days(cfg.DeliveryRetentionDays),
			Analytics:  days(cfg.AnalyticsRetentionDays),
		},
	}, nil
}

// registry is the function registry of a process that works no jobs
// (ROLE=api): its routing table, for publishing.
func registry(cfg Config, pool *pgxpool.Pool, logger *slog.Logger) (*fn.Registry, error) {
	deps, err := jobDeps(cfg, pool, logger)
	if err != nil {
		return nil, err
	}
	return jobs.NewRegistry(deps)
}

// rescueAfter is River's RescueStuckJobsAfter for cfg: jobs.RescueAfter,
// or TEST_MAX_JOB_TIMEOUT when that is shorter (every job's timeout is then
// at most that, so a killed worker's jobs can be rescued sooner).
func rescueAfter(cfg Config) time.Duration {
	if cfg.TestMaxTimeout > 0 && cfg.TestMaxTimeout < jobs.RescueAfter {
		return cfg.TestMaxTimeout
	}
	return jobs.RescueAfter
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func orDefault(url string) string {
	if url == "" {
		return "default"
	}
	return url
}
