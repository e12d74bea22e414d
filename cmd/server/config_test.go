package main

import (
	"bufio"
	"net/netip"
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

// strong returns a secret production accepts, its own for each name.
func strong(name string) string {
	return "test-" + strings.ToLower(name) + "-7f3a9c1e5b2d4f60"
}

// productionEnv is a complete production environment (as key, value
// pairs) with kv added or overriding.
func productionEnv(kv ...string) []string {
	return append([]string{"APP_ENV", "production", "DATABASE_URL", "postgres://db/app",
		"EVENT_KEYS", strong("EVENT_KEYS"), "API_KEYS", strong("API_KEYS"), "ADMIN_USER", "ops", "ADMIN_PASSWORD", strong("ADMIN_PASSWORD")}, kv...)
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

		k1, k2 := strong("k1"), strong("k2")
		cfg, err := loadConfig(envFunc(productionEnv("EVENT_KEYS", " "+k1+", "+k2+" ,")...))
		require.NoError(t, err)
		require.Equal(t, []string{k1, k2}, cfg.EventKeys)
		require.Equal(t, []string{strong("API_KEYS")}, cfg.APIKeys)
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

	// A key has one scope, in development too.
	t.Run("KeysOfEachScopeDiffer", func(t *testing.T) {
		t.Parallel()
		shared := strong("shared")
		_, err := loadConfig(envFunc(productionEnv("EVENT_KEYS", strong("e1")+","+shared, "API_KEYS", shared)...))
		require.ErrorContains(t, err, "the same value is in both EVENT_KEYS and API_KEYS")
		require.NotContains(t, err.Error(), shared, "keys are never shown")
		_, err = loadConfig(envFunc("EVENT_KEYS", "e1", "PUBLIC_EVENT_KEYS", "p1,e1"))
		require.ErrorContains(t, err, "the same value is in both EVENT_KEYS and PUBLIC_EVENT_KEYS")
		_, err = loadConfig(envFunc("EVENT_KEYS", "e1", "PUBLIC_EVENT_KEYS", "p1", "API_KEYS", "p1"))
		require.ErrorContains(t, err, "the same value is in both PUBLIC_EVENT_KEYS and API_KEYS")
	})

	t.Run("PublicEventKeys", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(envFunc("EVENT_KEYS", "e1", "PUBLIC_EVENT_KEYS", "p1, p2"))
		require.NoError(t, err)
		require.Equal(t, []string{"p1", "p2"}, cfg.PublicEventKeys)
		require.Equal(t, []string{"analytics/track"}, cfg.PublicEventNames, "the default")
		cfg, err = loadConfig(envFunc("PUBLIC_EVENT_NAMES", "analytics/track, app/page_viewed"))
		require.NoError(t, err)
		require.Equal(t, []string{"analytics/track", "app/page_viewed"}, cfg.PublicEventNames)
		_, err = loadConfig(envFunc("PUBLIC_EVENT_KEYS", "p1"))
		require.ErrorContains(t, err, "PUBLIC_EVENT_KEYS needs EVENT_KEYS too")
	})

	t.Run("TrustedProxies", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(envFunc())
		require.NoError(t, err)
		require.Empty(t, cfg.TrustedProxies, "X-Forwarded-For is ignored by default")
		cfg, err = loadConfig(envFunc("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1"))
		require.NoError(t, err)
		require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
			netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("::1/128")}, cfg.TrustedProxies)
		_, err = loadConfig(envFunc("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"))
		require.ErrorContains(t, err, `TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR`)
	})

	// /metrics is on an operations listener of its own in production; in
	// development it is on ADDR unless OPS_ADDR (loopback too) is set.
	t.Run("OpsAddr", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(envFunc())
		require.NoError(t, err)
		require.Empty(t, cfg.OpsAddr, "development: the operations routes are on ADDR")
		cfg, err = loadConfig(envFunc(productionEnv()...))
		require.NoError(t, err)
		require.Equal(t, ":9090", cfg.OpsAddr, "production: a listener of their own")
		cfg, err = loadConfig(envFunc("OPS_ADDR", "127.0.0.1:9090"))
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:9090", cfg.OpsAddr)

		for _, tc := range []struct{ env []string }{
			{[]string{"OPS_ADDR", "0.0.0.0:9090"}},
			{[]string{"OPS_ADDR", ":9090"}},
		} {
			_, err := loadConfig(envFunc(tc.env...))
			require.ErrorContains(t, err, "OPS_ADDR "+tc.env[1]+" is reachable from other machines", "%v", tc.env)
		}
		_, err = loadConfig(envFunc("OPS_ADDR", "9090"))
		require.ErrorContains(t, err, "OPS_ADDR must be host:port")
		_, err = loadConfig(envFunc(productionEnv("OPS_ADDR", ":8080")...))
		require.ErrorContains(t, err, "OPS_ADDR :8080 and ADDR :8080 share a port")
		_, err = loadConfig(envFunc(productionEnv("ROLE", "worker", "OPS_ADDR", ":8080")...))
		require.NoError(t, err, "a worker does not listen on ADDR")
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

// TestProductionRefusesWeakSecrets: with APP_ENV=production the server
// does not start with a key or password shorter than 24 characters, with
// the placeholder CHANGE_ME (any case) in any secret, or with a value that
// two keys, passwords or providers' secrets share; the error names the
// variables and never the values.
func TestProductionRefusesWeakSecrets(t *testing.T) {
	t.Parallel()
	long := "0123456789abcdef0123456789"
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		// What deploy/ used to fall back to, and what a careless operator sets.
		{[]string{"EVENT_KEYS", "x", "API_KEYS", "y", "ADMIN_PASSWORD", "p"}, []string{
			"EVENT_KEYS: every key and password must be at least 24 characters",
			"API_KEYS: every key and password must be at least 24 characters",
			"ADMIN_PASSWORD: every key and password must be at least 24 characters"}},
		{[]string{"EVENT_KEYS", "CHANGE_ME"}, []string{"EVENT_KEYS holds the placeholder CHANGE_ME", "EVENT_KEYS: every key"}},
		{[]string{"EVENT_KEYS", strong("e") + ",change_me_" + long}, []string{"EVENT_KEYS holds the placeholder CHANGE_ME"}},
		{[]string{"PUBLIC_EVENT_KEYS", "Change_Me_" + long}, []string{"PUBLIC_EVENT_KEYS holds the placeholder CHANGE_ME"}},
		{[]string{"PUBLIC_EVENT_KEYS", "short"}, []string{"PUBLIC_EVENT_KEYS: every key and password must be at least 24"}},
		{[]string{"API_KEYS", "CHANGE_ME_api_key_" + long}, []string{"API_KEYS holds the placeholder CHANGE_ME"}},
		{[]string{"ADMIN_PASSWORD", "CHANGE_ME_admin_password" + long}, []string{"ADMIN_PASSWORD holds the placeholder CHANGE_ME"}},
		{[]string{"ADMIN_USER", "CHANGE_ME_admin"}, []string{"ADMIN_USER holds the placeholder CHANGE_ME"}},
		{[]string{"DATABASE_URL", "postgres://app:CHANGE_ME@db/app"}, []string{"DATABASE_URL holds the placeholder CHANGE_ME"}},
		{[]string{"RESEND_API_KEY", "re_CHANGE_ME", "EMAIL_FROM", "orders@mohallamart.in"}, []string{"RESEND_API_KEY holds the placeholder CHANGE_ME"}},
		{[]string{"ADMIN_PASSWORD", strong("EVENT_KEYS")}, []string{"the same value is in both EVENT_KEYS and ADMIN_PASSWORD"}},
		{[]string{"EVENT_KEYS", strong("e") + "," + strong("e")}, []string{"EVENT_KEYS holds the same key twice"}},
		{[]string{"PUBLIC_EVENT_KEYS", strong("API_KEYS")}, []string{"the same value is in both PUBLIC_EVENT_KEYS and API_KEYS"}},
		{[]string{"TYPESENSE_URL", "http://127.0.0.1:8108", "TYPESENSE_API_KEY", strong("API_KEYS")}, []string{"the same value is in both API_KEYS and TYPESENSE_API_KEY"}},
	} {
		_, err := loadConfig(envFunc(productionEnv(tc.env...)...))
		require.Error(t, err, "%v", tc.env)
		for _, want := range tc.want {
			require.ErrorContains(t, err, want, "%v", tc.env)
		}
		for i := 1; i < len(tc.env); i += 2 {
			if len(tc.env[i]) > len("CHANGE_ME") && !strings.HasPrefix(tc.env[i], "http") && !strings.Contains(tc.env[i], "@") {
				for v := range strings.SplitSeq(tc.env[i], ",") {
					require.NotContains(t, err.Error(), v, "secrets are never shown")
				}
			}
		}
	}

	// Development takes what it is given, on loopback only.
	_, err := loadConfig(envFunc("EVENT_KEYS", "x", "API_KEYS", "y", "ADMIN_USER", "ops", "ADMIN_PASSWORD", "p"))
	require.NoError(t, err)
	// A strong, distinct set starts production.
	_, err = loadConfig(envFunc(productionEnv("PUBLIC_EVENT_KEYS", strong("PUBLIC_EVENT_KEYS"),
		"TYPESENSE_URL", "http://127.0.0.1:8108", "TYPESENSE_API_KEY", "xyz")...))
	require.NoError(t, err)
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
