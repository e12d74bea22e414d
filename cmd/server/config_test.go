package main

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/limit"
	"github.com/mohallamart/backend/notify"
)

func envFunc(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestEnvExampleListsEveryVariable keeps .env.example true: it must name
// exactly the variables loadConfig reads.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	t.Parallel()
	var read []string
	_, _ = loadConfig(func(k string) string {
		if !slices.Contains(read, k) {
			read = append(read, k)
		}
		return ""
	})

	f, err := os.Open("../../.env.example")
	require.NoError(t, err)
	defer f.Close()
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			listed = append(listed, name)
		}
	}
	require.NoError(t, sc.Err())
	slices.Sort(read)
	slices.Sort(listed)
	require.Equal(t, read, listed)
}

// productionEnv is a complete production environment (as key, value
// pairs) with kv added or overriding.
func productionEnv(kv ...string) []string {
	return append([]string{"APP_ENV", "production", "DATABASE_URL", "postgres://db/app",
		"EVENT_KEYS", "e1", "API_KEYS", "a1", "ADMIN_USER", "ops", "ADMIN_PASSWORD", "s3cret"}, kv...)
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	t.Run("DevelopmentDefaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(envFunc())
		require.NoError(t, err)
		require.Equal(t, RoleAll, cfg.Role)
		require.Equal(t, "127.0.0.1:8080", cfg.Addr, "development listens on this machine only")
		require.Equal(t, ".data", cfg.DataDir)
		require.True(t, cfg.MigrateOnStart)
		require.Equal(t, 30*time.Second, cfg.ShutdownTimeout)
		require.Equal(t, "03:00", cfg.CleanupAt)
		require.Equal(t, "Asia/Kolkata", cfg.CleanupTimezone)
		require.Empty(t, cfg.EventKeys)
		require.Empty(t, cfg.APIKeys)
	})

	t.Run("CORSOrigins", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(envFunc())
		require.NoError(t, err)
		require.Empty(t, cfg.CORSOrigins, "no CORS by default")
		cfg, err = loadConfig(envFunc("CORS_ORIGINS", " https://shop.mohalla.example, http://localhost:3000 ,"))
		require.NoError(t, err)
		require.Equal(t, []string{"https://shop.mohalla.example", "http://localhost:3000"}, cfg.CORSOrigins)
		for _, bad := range []string{"*", "https://*.mohalla.example", "shop.mohalla.example", "https://shop.mohalla.example/app", "ftp://x.example"} {
			_, err := loadConfig(envFunc("CORS_ORIGINS", bad))
			require.ErrorContains(t, err, "CORS_ORIGINS: "+strconv.Quote(bad)+" is not an origin", bad)
		}
	})

	t.Run("ProductionNamesEveryMissingSecret", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(envFunc("APP_ENV", "production"))
		require.Error(t, err)
		for _, name := range []string{"DATABASE_URL", "EVENT_KEYS", "API_KEYS", "ADMIN_USER", "ADMIN_PASSWORD"} {
			require.ErrorContains(t, err, name+" is required in production")
		}

		cfg, err := loadConfig(envFunc(productionEnv("EVENT_KEYS", " k1, k2 ,")...))
		require.NoError(t, err)
		require.Equal(t, []string{"k1", "k2"}, cfg.EventKeys)
		require.Equal(t, []string{"a1"}, cfg.APIKeys)
		require.False(t, cfg.MigrateOnStart, "production migrates as a deploy step")
		require.Equal(t, ":8080", cfg.Addr, "production listens on every interface by default")

		// A worker serves only /healthz, /readyz and /metrics: no keys.
		_, err = loadConfig(envFunc("APP_ENV", "production", "ROLE", "worker"))
		require.EqualError(t, err, "invalid configuration: DATABASE_URL is required in production")
		_, err = loadConfig(envFunc("APP_ENV", "production", "ROLE", "worker", "DATABASE_URL", "postgres://db/app"))
		require.NoError(t, err)
	})

	// Without keys, admin password or DATABASE_URL the server is open (and
	// its database a private fsync=off cluster): development may do that on
	// this machine only. Any other address needs production and its secrets.
	t.Run("OpenOnlyOnLoopback", func(t *testing.T) {
		t.Parallel()
		for _, addr := range []string{"127.0.0.1:8080", "localhost:9000", "[::1]:8080", "127.0.0.1:0"} {
			cfg, err := loadConfig(envFunc("ADDR", addr))
			require.NoError(t, err, addr)
			require.Equal(t, addr, cfg.Addr)
		}
		for _, addr := range []string{":8080", "0.0.0.0:8080", "[::]:8080", "192.168.1.20:8080", "jobs.example.com:8080"} {
			_, err := loadConfig(envFunc("ADDR", addr))
			require.ErrorContains(t, err, "ADDR "+addr+" is reachable from other machines, which needs APP_ENV=production and "+
				"DATABASE_URL, EVENT_KEYS, API_KEYS, ADMIN_USER, ADMIN_PASSWORD", addr)
		}
		// Every secret set is not enough: development stays on loopback.
		dev := productionEnv("APP_ENV", "development", "ADDR", ":8080")
		_, err := loadConfig(envFunc(dev...))
		require.ErrorContains(t, err, "ADDR :8080 is reachable from other machines, which needs APP_ENV=production;")
		// Production on a public address with one secret missing names it.
		_, err = loadConfig(envFunc(productionEnv("API_KEYS", "")...))
		require.EqualError(t, err, "invalid configuration: API_KEYS is required in production")

		_, err = loadConfig(envFunc("ADDR", "8080"))
		require.ErrorContains(t, err, "ADDR must be host:port")
	})

	t.Run("RefusesToStartOnPublicAddress", func(t *testing.T) {
		t.Parallel()
		var out strings.Builder
		err := run(t.Context(), []string{"serve"}, envFunc("ADDR", "0.0.0.0:0"), &out)
		require.ErrorContains(t, err, "needs APP_ENV=production and DATABASE_URL, EVENT_KEYS, API_KEYS, ADMIN_USER, ADMIN_PASSWORD")
		require.Empty(t, out.String(), "nothing started")
	})

	t.Run("EventAndAPIKeysDiffer", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(envFunc(productionEnv("EVENT_KEYS", "e1,shared-secret", "API_KEYS", "shared-secret")...))
		require.ErrorContains(t, err, "a key is in both EVENT_KEYS and API_KEYS")
		require.NotContains(t, err.Error(), "shared-secret", "keys are never shown")
	})

	// An outside service is used fully configured or not at all: half a
	// configuration is refused, naming what is missing, instead of quietly
	// capturing.
	t.Run("HalfConfiguredServicesRefused", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			env  []string
			want string
		}{
			{[]string{"RESEND_API_KEY", "re_1"}, "email through Resend is half configured: RESEND_API_KEY set, EMAIL_FROM missing"},
			{[]string{"RESEND_BASE_URL", "http://127.0.0.1:1", "EMAIL_FROM", "a@shop.in"}, "RESEND_BASE_URL set, RESEND_API_KEY missing"},
			{[]string{"TWILIO_ACCOUNT_SID", "AC1"}, "SMS through Twilio is half configured: TWILIO_ACCOUNT_SID set, TWILIO_AUTH_TOKEN, TWILIO_FROM missing"},
			{[]string{"TWILIO_ACCOUNT_SID", "AC1", "TWILIO_AUTH_TOKEN", "t"}, "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN set, TWILIO_FROM missing"},
			{[]string{"ONESIGNAL_APP_ID", "app"}, "push through OneSignal is half configured: ONESIGNAL_APP_ID set, ONESIGNAL_API_KEY missing"},
			{[]string{"ONESIGNAL_API_KEY", "k"}, "ONESIGNAL_API_KEY set, ONESIGNAL_APP_ID missing"},
			{[]string{"TYPESENSE_URL", "http://127.0.0.1:8108"}, "search through Typesense is half configured: TYPESENSE_URL set, TYPESENSE_API_KEY missing"},
			{[]string{"TYPESENSE_API_KEY", "k"}, "TYPESENSE_API_KEY set, TYPESENSE_URL missing"},
			{[]string{"MIXPANEL_BASE_URL", "http://127.0.0.1:1"}, "analytics through Mixpanel is half configured: MIXPANEL_BASE_URL set, MIXPANEL_TOKEN missing"},
			{[]string{"ADMIN_USER", "ops"}, "River UI basic auth is half configured: ADMIN_USER set, ADMIN_PASSWORD missing"},
			{[]string{"ADMIN_PASSWORD", "pw"}, "ADMIN_PASSWORD set, ADMIN_USER missing"},
		} {
			_, err := loadConfig(envFunc(tc.env...))
			require.ErrorContains(t, err, tc.want, "%v", tc.env)
		}

		cfg, err := loadConfig(envFunc("RESEND_API_KEY", "re_1", "EMAIL_FROM", "MohallaMart <orders@mohallamart.in>",
			"TWILIO_ACCOUNT_SID", "AC1", "TWILIO_AUTH_TOKEN", "t", "TWILIO_FROM", "+15550000000",
			"ONESIGNAL_APP_ID", "app", "ONESIGNAL_API_KEY", "k", "TYPESENSE_URL", "http://127.0.0.1:8108", "TYPESENSE_API_KEY", "k",
			"MIXPANEL_TOKEN", "tok", "ADMIN_USER", "ops", "ADMIN_PASSWORD", "pw"))
		require.NoError(t, err)
		require.Equal(t, "MohallaMart <orders@mohallamart.in>", cfg.EmailFrom)
	})

	// Resend cannot send from the development default (a .local domain).
	t.Run("EmailFromLocalRefusedWithResend", func(t *testing.T) {
		t.Parallel()
		for _, from := range []string{"MohallaMart <orders@mohallamart.local>", "orders@Shop.LOCAL", "a@local"} {
			_, err := loadConfig(envFunc("RESEND_API_KEY", "re_1", "EMAIL_FROM", from))
			require.ErrorContains(t, err, "is on a .local domain, which Resend cannot send from", from)
		}
		_, err := loadConfig(envFunc("RESEND_API_KEY", "re_1", "EMAIL_FROM", "not an address"))
		require.ErrorContains(t, err, "EMAIL_FROM \"not an address\" is not an email address")
		// Captured emails may keep the default.
		cfg, err := loadConfig(envFunc("EMAIL_FROM", "MohallaMart <orders@mohallamart.local>"))
		require.NoError(t, err)
		require.Empty(t, cfg.ResendAPIKey)
	})

	// The test settings compress time for the reliability suite;
	// production refuses them, naming each.
	t.Run("TestSettingsRefusedInProduction", func(t *testing.T) {
		t.Parallel()
		settings := []string{"TEST_MAX_ATTEMPTS", "3", "TEST_RETRY_DELAY", "200ms", "TEST_CLEANUP_EVERY", "2s"}
		cfg, err := loadConfig(envFunc(settings...))
		require.NoError(t, err)
		require.Equal(t, 3, cfg.TestMaxAttempts)
		require.Equal(t, 200*time.Millisecond, cfg.TestRetryDelay)
		require.Equal(t, 2*time.Second, cfg.TestCleanupEvery)
		require.Equal(t, []string{"TEST_MAX_ATTEMPTS=3", "TEST_RETRY_DELAY=200ms", "TEST_CLEANUP_EVERY=2s"}, cfg.testSettings())
		_, err = loadConfig(envFunc(productionEnv(settings...)...))
		for i := 0; i < len(settings); i += 2 {
			require.ErrorContains(t, err, settings[i]+" is a test setting, refused in production")
		}
		cfg, err = loadConfig(envFunc(productionEnv()...))
		require.NoError(t, err)
		require.Empty(t, cfg.testSettings())
		_, err = loadConfig(envFunc("TEST_MAX_ATTEMPTS", "0", "TEST_RETRY_DELAY", "soon"))
		require.ErrorContains(t, err, "TEST_MAX_ATTEMPTS must be a positive integer")
		require.ErrorContains(t, err, "TEST_RETRY_DELAY must be a positive duration")
	})

	t.Run("InvalidValuesAreNamed", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(envFunc("ROLE", "both", "SHUTDOWN_TIMEOUT", "soon", "LOG_RETENTION_DAYS", "-1",
			"MIGRATE_ON_START", "maybe", "APP_ENV", "staging"))
		for _, want := range []string{"ROLE must be", "SHUTDOWN_TIMEOUT must be", "LOG_RETENTION_DAYS must be",
			"MIGRATE_ON_START must be", "APP_ENV must be"} {
			require.ErrorContains(t, err, want)
		}
	})
}

// TestPipelineConfigFailsClosed: start-up refuses a provider timeout that
// leaves a job no room to record its answer, pools that cannot hold the
// API's share and River's connections plus one per queue, and a queue
// that does not exist; the errors name the variables.
func TestPipelineConfigFailsClosed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"PROVIDER_TIMEOUT", "25s"}, "PROVIDER_TIMEOUT must be at most 20s"},
		{[]string{"DB_MAX_CONNS", "10", "DB_API_CONNS", "8"}, "the workers need at least 10 connections (River's 4 and one per queue); DB_MAX_CONNS 10 leaves them 2"},
		{[]string{"DB_API_CONNS", "1"}, "the HTTP API needs at least 2 connections"},
		{[]string{"QUEUE_WORKERS", "email=10,sms=3"}, `QUEUE_WORKERS: unknown queue "sms"`},
		{[]string{"QUEUE_WORKERS", "0"}, "QUEUE_WORKERS: must be a positive integer or queue=number pairs"},
		{[]string{"PROVIDER_RATE_LIMITS", "mailgun=2/s"}, `PROVIDER_RATE_LIMITS: unknown provider "mailgun" in "mailgun=2/s" (providers: onesignal, resend, twilio)`},
		{[]string{"PROVIDER_RATE_LIMITS", "resend=2"}, `PROVIDER_RATE_LIMITS: "resend=2" is not provider=N/period`},
		{[]string{"PROVIDER_RATE_LIMITS", "resend=0/s"}, `PROVIDER_RATE_LIMITS: "resend=0/s" is not provider=N/period`},
		{[]string{"PROVIDER_RATE_LIMITS", "resend=2/day"}, `PROVIDER_RATE_LIMITS: "resend=2/day" is not provider=N/period`},
		{[]string{"PROVIDER_RATE_LIMITS", "resend=2/-1s"}, `PROVIDER_RATE_LIMITS: "resend=2/-1s" is not provider=N/period`},
		{[]string{"PROVIDER_RATE_LIMITS", "resend=2/s,resend=3/s"}, `PROVIDER_RATE_LIMITS: provider "resend" is named twice`},
	} {
		_, err := loadConfig(envFunc(tt.env...))
		require.ErrorContains(t, err, tt.want, "%v", tt.env)
	}
	cfg, err := loadConfig(envFunc("QUEUE_WORKERS", "email=60", "PROVIDER_TIMEOUT", "20s"))
	require.NoError(t, err)
	require.Equal(t, 60, cfg.QueueWorkers["email"])
	require.Equal(t, 20, cfg.QueueWorkers["notifications"], "the other queues keep their defaults")
	require.Empty(t, cfg.ProviderRates, "no limits unless set")

	cfg, err = loadConfig(envFunc("PROVIDER_RATE_LIMITS", "resend=2/s, twilio=60/m,onesignal=5/500ms"))
	require.NoError(t, err)
	require.Equal(t, map[string]limit.Rule{
		notify.ChannelEmail: {Key: "resend", Rate: 2, Per: time.Second},
		notify.ChannelSMS:   {Key: "twilio", Rate: 60, Per: time.Minute},
		notify.ChannelPush:  {Key: "onesignal", Rate: 5, Per: 500 * time.Millisecond},
	}, cfg.ProviderRates)
}
