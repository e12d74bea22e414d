package main

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/limit"
)

// setting is one environment variable the server reads: its row of the
// settings table, the one place its default, parser, documentation and
// production rules are written. loadConfig reads every variable through
// it; .env.example, the README's configuration table and bench's list of
// the server's variables are generated from it (TestConfigDocsAreCurrent).
type setting struct {
	name string
	// def is the default, as it would be written ("": none), and prodDef
	// the default with APP_ENV=production where it differs. defOf, when
	// set, computes the default from the settings before it instead.
	def, prodDef string
	defOf        func() string
	// shown is the default as the docs say it (markdown) where def cannot:
	// a computed one. rowDefault is the default column of the README row
	// this setting starts, where its members' defaults do not say it (an
	// outside service's: what happens without it).
	shown, rowDefault string
	// bind reads the value into its Config field.
	bind binding
	// untrimmed takes the value as set, spaces included (a password).
	untrimmed bool
	// doc documents the variable (markdown, one or more sentences). An
	// empty doc shares the previous setting's: one comment in
	// .env.example, one row of the README's table.
	doc   string
	rules rule
	// tuning: a performance setting, which the benchmark passes on from
	// its environment and reports with its results.
	tuning bool
	// deployment: where the process listens and keeps its data, who may
	// call it and which outside services it calls. A harness that starts
	// the server (bench) sets or clears these itself, so a variable left
	// in a developer's shell never sends traffic beyond the machine.
	deployment bool
}

// settingSection is a group of settings, a section of .env.example.
type settingSection struct {
	title    string // "Email (Resend; unset key: emails are captured in the deliveries table)"
	settings []setting
}

// rule is what production demands of a setting (combined with |); the
// checks are in missingSecrets, secretProblems and testSettings.
type rule uint8

const (
	// required: production refuses to start without it.
	required rule = 1 << iota
	// requiredToServe: production refuses to start without it unless
	// ROLE=worker (which serves no API).
	requiredToServe
	// ownKey: a key of this server's. No value may be in two keys (in
	// development too); in production each is at least minSecretLength
	// characters and differs from every password and provider secret.
	ownKey
	// ownPassword: in production at least minSecretLength characters,
	// different from every key and secret.
	ownPassword
	// providerSecret: in production different from every key, password
	// and other secret.
	providerSecret
	// noPlaceholder: production refuses the placeholder CHANGE_ME in it
	// (as in every key, password and secret).
	noPlaceholder
	// testOnly: a test setting, refused in production.
	testOnly
)

// productionRules says what rules demand, as the docs write it ("" none).
func (r rule) productionRules() string {
	var parts []string
	switch {
	case r&required != 0:
		parts = append(parts, "required")
	case r&requiredToServe != 0:
		parts = append(parts, "required unless `ROLE=worker`")
	}
	if r&(ownKey|ownPassword) != 0 {
		parts = append(parts, fmt.Sprintf("at least %d characters", minSecretLength))
	}
	if r&(ownKey|ownPassword|providerSecret) != 0 {
		parts = append(parts, "unique")
	}
	if r&(ownKey|ownPassword|providerSecret|noPlaceholder) != 0 {
		parts = append(parts, "no `"+placeholder+"`")
	}
	if r&testOnly != 0 {
		parts = append(parts, "refused")
	}
	return strings.Join(parts, ", ")
}

// binding reads a setting's value into its Config field, and reports it.
type binding struct {
	// read parses v (trimmed; the default when unset) into the field and
	// returns what is wrong with it, naming the variable name.
	read func(name, v string) []string
	// values returns the field's values that are set ("" and 0 are not),
	// as written: for the production rules and testSettings.
	values func() []string
}

// settings returns the settings table bound to c: each setting reads into
// c's field and reports from it. The table is built afresh on each call.
func settings(c *Config) []setting {
	var out []setting
	for _, s := range settingSections(c) {
		out = append(out, s.settings...)
	}
	return out
}

// settingSections is the settings table bound to c, in sections: every
// variable the server reads, in the order .env.example lists them.
func settingSections(c *Config) []settingSection {
	return []settingSection{
		{"Process", []setting{
			{name: "APP_ENV", def: "development", bind: oneOf(&c.AppEnv, "development", "production"),
				doc: "`development` or `production`. `production`: JSON logs, no auto-migrate, and the server refuses to start " +
					"without `DATABASE_URL` and (unless `ROLE=worker`) `EVENT_KEYS`, `API_KEYS`, `ADMIN_USER`, `ADMIN_PASSWORD` " +
					"(it names the missing ones), or with a weak secret (see [Safe by default](docs/http-api.md#safe-by-default)). " +
					"`development` only on a loopback `ADDR`, answering only the names `localhost`, `127.0.0.1` and `[::1]` (others: 421).",
				deployment: true},
			{name: "ROLE", def: RoleAll, bind: oneOf(&c.Role, RoleAll, RoleAPI, RoleWorker),
				doc: "`all` (HTTP + workers), `api` (HTTP, inserts jobs, works none) or `worker` " +
					"(works jobs; serves only `/healthz`, `/readyz` and `/metrics`, on `OPS_ADDR`).",
				deployment: true},
			{name: "ADDR", def: "127.0.0.1:8080", prodDef: ":8080", bind: text(&c.Addr),
				doc: "Listen address. Any host but `localhost`, `127.0.0.1` or `[::1]` (this machine only) needs `APP_ENV=production`; " +
					"`:8080` is every interface.",
				deployment: true},
			{name: "OPS_ADDR", prodDef: ":9090", bind: text(&c.OpsAddr),
				doc: "The operations listener: `GET /metrics`, `/healthz`, `/readyz` (see [Metrics](docs/operations.md#metrics-get-metrics-prometheus)); " +
					"keep it to the internal network, where Prometheus scrapes it. With it set, `ADDR` does not serve `/metrics`, " +
					"and a worker listens here only. Unset (development): those routes are on `ADDR`, a worker's too.",
				deployment: true},
			{name: "LOG_LEVEL", def: "info", bind: oneOf(&c.LogLevel, "debug", "info", "warn", "error"),
				doc: "`debug`, `info`, `warn` or `error`.", tuning: true},
			{name: "SHUTDOWN_TIMEOUT", def: "30s", bind: positiveDuration(&c.ShutdownTimeout),
				doc:    "On SIGTERM or SIGINT, time for in-flight requests and running jobs to finish before jobs are cancelled (and retried).",
				tuning: true},
		}},
		{"Database", []setting{
			{name: "DATABASE_URL", bind: text(&c.DatabaseURL), rules: required | noPlaceholder,
				doc: "PostgreSQL URL. Unset (development only): a private cluster (`fsync=off`) is started under `DATA_DIR` " +
					"from the local PostgreSQL binaries.",
				deployment: true},
			{name: "DATA_DIR", def: ".data", bind: text(&c.DataDir),
				doc: "Directory of that private cluster. It keeps one port (`DATA_DIR/port`); the process that starts it owns it " +
					"(`DATA_DIR/owner.pid`) and stops it on exit; one server per `DATA_DIR`.",
				deployment: true},
			{name: "MIGRATE_ON_START", def: "true", prodDef: "false", bind: boolean(&c.MigrateOnStart),
				doc:        "Apply pending migrations at start (also `serve -migrate`); otherwise run `server migrate up`.",
				deployment: true},
			{name: "DB_TIMEOUT", def: "5s", bind: positiveDuration(&c.DBTimeout),
				doc: "Connect timeout and per-request database budget: past it requests answer 503.", tuning: true},
			{name: "DB_MAX_CONNS", def: "40", bind: positiveInt(&c.DBMaxConns),
				doc: "Connections this process opens in all; keep the sum over all processes below PostgreSQL's `max_connections`. " +
					"No job holds one while it calls an outside service.",
				tuning: true},
			{name: "DB_API_CONNS", def: "8", bind: positiveInt(&c.DBAPIConns),
				doc: fmt.Sprintf("With `ROLE=all`, the HTTP API's own pool (at least 2); the workers' pool gets the rest, which must be "+
					"at least %d (River) + one per queue: start-up refuses a split that does not fit (see [Performance](bench/README.md#performance)).", riverConns),
				tuning: true},
			{name: "QUEUE_WORKERS", shown: "`" + queueWorkersText(jobs.DefaultQueueWorkers()) + "`", bind: queueWorkers(&c.QueueWorkers),
				doc:    "Jobs worked at once per queue: one number for every queue, or `queue=number` pairs that override the defaults of the queues they name.",
				tuning: true},
			{name: "PROVIDER_RATE_LIMITS", bind: providerRates(&c.ProviderRates),
				doc: "Requests per period to each provider, shared by every worker process (through PostgreSQL): `provider=N/period` " +
					"pairs, the period `s`, `m`, `h` or a duration, the providers " + rateLimitedProviders + ", such as " +
					"`resend=2/s,twilio=60/m` (Resend's default plan allows 2 requests per second). A job that finds no capacity waits " +
					"without using an attempt (see [Concurrency and rate limits](docs/functions.md#concurrency-and-rate-limits-across-processes)). Unset: no limit."},
			{name: "FETCH_COOLDOWN", def: "5ms", bind: positiveDuration(&c.FetchCooldown),
				doc: "Least time between two fetches of one queue: bounds how soon a committed job starts and how many fetches a busy " +
					"queue makes (River's default, 100ms, caps a queue near 10 × its workers jobs a second).",
				tuning: true},
			{name: "FETCH_POLL_INTERVAL", def: "100ms", bind: positiveDuration(&c.FetchPoll),
				doc: "How often a queue fetches when no LISTEN/NOTIFY wake-up came, and so how late a job snoozed for a short while " +
					"(a debounced `index-product`) can start. Workers need session-mode connections for LISTEN (see [PgBouncer](docs/operations.md#pgbouncer)).",
				tuning: true},
			{name: "INDEX_DEBOUNCE", def: "2s", bind: durationOrZero(&c.IndexDebounce, "2s", "no debounce"),
				doc: "`index-product`'s debounce: a product is indexed once it has had no change for this long (at the latest 5 times " +
					"this long after the first), so a burst of updates is indexed once, with the latest state (`0s`: at every change)."},
			{name: "ANALYTICS_BATCH_WAIT", def: "5s", bind: positiveDuration(&c.AnalyticsBatchWait),
				doc: "How long `track-analytics` collects tracked events, from the first, before it sends them as one batch " +
					"(Mixpanel `/import`, up to 2,000 events).",
				tuning: true},
			{name: "NOTIFICATIONS_PER_HOUR", def: "10", bind: perHourLimit(&c.NotificationsPerHour),
				doc: "`notification/send` messages one recipient (`to`, else `userId`) gets an hour at most; the rest are dropped and " +
					"logged (`send-notification`'s rateLimit; `0`: no limit). Failed-job alerts to `OPS_EMAIL` are not limited."},
			{name: "PROVIDER_TIMEOUT", def: "10s", bind: providerTimeout(&c.ProviderTimeout),
				doc: fmt.Sprintf("HTTP timeout of every outside service (Resend, Twilio, OneSignal, Typesense, Mixpanel). At most %s "+
					"(start-up refuses more), so every job's timeout holds its calls plus %s to record the answer.",
					jobs.MaxProviderTimeout(), jobs.RecordMargin)},
		}},
		{"HTTP API auth and limits", []setting{
			{name: "EVENT_KEYS", bind: list(&c.EventKeys), rules: requiredToServe | ownKey,
				doc: "Comma-separated **server-side** event keys (several, for rotation), for the web app's servers: they **only send " +
					"events**, of any name: `Authorization: Bearer <key>` on `POST /v1/events`, in the path of `POST /e/{key}` (Inngest " +
					"SDKs). Never put one in a page. Unset (development on loopback only): events are accepted without a key, with a warning.",
				deployment: true},
			{name: "PUBLIC_EVENT_KEYS", bind: list(&c.PublicEventKeys), rules: ownKey,
				doc: "Comma-separated event keys for **browser pages** (anyone can read them there): they send only the names in " +
					"`PUBLIC_EVENT_NAMES`; a request with any other name is refused (403) and stores nothing. Needs `EVENT_KEYS`. " +
					"Unset: no public keys.",
				deployment: true},
			{name: "PUBLIC_EVENT_NAMES", def: events.NameAnalyticsTrack, bind: list(&c.PublicEventNames),
				doc: "Comma-separated event names a public key may send."},
			{name: "API_KEYS", bind: list(&c.APIKeys), rules: requiredToServe | ownKey,
				doc: "Comma-separated API keys, `Authorization: Bearer <key>`: the REST routes (users, shops, products, orders, " +
					"`GET /v1/events`, `GET /v1/events/{id}`, search). An event key there is refused (403); every key differs from every " +
					"other. Unset (development on loopback only): no key needed, with a warning.",
				deployment: true},
			{name: "CORS_ORIGINS", bind: origins(&c.CORSOrigins),
				doc: "Comma-separated browser origins (`scheme://host[:port]`, such as `https://shop.mohalla.example` or " +
					"`http://localhost:3000`; no wildcard) whose pages send events with a public key (the web app's client-side " +
					"Inngest provider): the event routes answer them with CORS headers, and their `OPTIONS` preflight, and take their " +
					"cross-origin requests (see [Sending events from a browser](docs/http-api.md#sending-events-from-a-browser)). A server-side key " +
					"(`EVENT_KEYS`) from one of those pages is refused (403). No other route answers CORS, and every state-changing " +
					"route refuses other sites' pages. Unset: no CORS."},
			{name: "ADMIN_USER", bind: text(&c.AdminUser), rules: requiredToServe | noPlaceholder,
				doc: "Basic auth for River UI (`/riverui/`, which can cancel and delete jobs) and the `/admin` routes: both or neither. " +
					"Unset (development on loopback only): open, with a warning.",
				deployment: true},
			{name: "ADMIN_PASSWORD", bind: text(&c.AdminPassword), untrimmed: true, rules: requiredToServe | ownPassword,
				deployment: true},
			{name: "RATE_LIMIT", def: "200", bind: perSecondRate(&c.RateLimit),
				doc: "Requests per second per key on the event and REST API (`/v1` and `/e`; `0`: no limit), and how many a key may " +
					"send at once; above them: 429 + `Retry-After`. Failed authentication (a wrong key or admin password) is limited " +
					"too: 10 attempts per client address and credential, then one every 6 s; past that, that credential answers 429 " +
					"from that address. Right credentials are checked first and always pass.",
				tuning: true},
			{name: "RATE_BURST", defOf: func() string { return strconv.Itoa(max(1, int(2*c.RateLimit))) }, shown: "2 × `RATE_LIMIT`",
				bind: positiveInt(&c.RateBurst), tuning: true},
			{name: "TRUSTED_PROXIES", bind: prefixes(&c.TrustedProxies),
				doc: "Comma-separated CIDRs or addresses of the reverse proxies in front of the server (such as `10.0.0.0/8`): a request " +
					"from one of them is from the rightmost `X-Forwarded-For` address that is not one of them (for the " +
					"failed-authentication limit and, without keys, the rate limit). Unset: the peer's address; `X-Forwarded-For` is ignored.",
				deployment: true},
		}},
		{"Email (Resend; unset key: emails are captured in the deliveries table)", []setting{
			{name: "EMAIL_FROM", def: "MohallaMart <orders@mohallamart.local>", bind: text(&c.EmailFrom), rowDefault: "capture",
				doc: "Email through Resend. `EMAIL_FROM` is the sender: required with `RESEND_API_KEY`, and then on your verified " +
					"domain (a `.local` domain, such as the development default `orders@mohallamart.local`, is refused). Without a key emails are *captured* " +
					"in `deliveries` (status `captured`).",
				deployment: true},
			{name: "RESEND_API_KEY", bind: text(&c.ResendAPIKey), rules: providerSecret, deployment: true},
			{name: "RESEND_BASE_URL", bind: text(&c.ResendBaseURL), deployment: true},
		}},
		{"Search (Typesense; unset: Postgres full-text search)", []setting{
			{name: "TYPESENSE_URL", bind: text(&c.TypesenseURL), rowDefault: "Postgres full-text",
				doc:        "Product and shop search through Typesense: its URL and API key, both or neither.",
				deployment: true},
			{name: "TYPESENSE_API_KEY", bind: text(&c.TypesenseAPIKey), rules: providerSecret, deployment: true},
		}},
		{"SMS (Twilio; unset: captured)", []setting{
			{name: "TWILIO_ACCOUNT_SID", bind: text(&c.TwilioAccountSID), rowDefault: "capture",
				doc:        "SMS through Twilio: the account, its auth token and the sending number; without them SMS are captured.",
				deployment: true},
			{name: "TWILIO_AUTH_TOKEN", bind: text(&c.TwilioAuthToken), rules: providerSecret, deployment: true},
			{name: "TWILIO_FROM", bind: text(&c.TwilioFrom), deployment: true},
			{name: "TWILIO_BASE_URL", bind: text(&c.TwilioBaseURL), deployment: true},
		}},
		{"Push (OneSignal; unset: captured)", []setting{
			{name: "ONESIGNAL_APP_ID", bind: text(&c.OneSignalAppID), rowDefault: "capture",
				doc:        "Push through OneSignal: the app's id and REST API key; without them push notifications are captured.",
				deployment: true},
			{name: "ONESIGNAL_API_KEY", bind: text(&c.OneSignalAPIKey), rules: providerSecret, deployment: true},
			{name: "ONESIGNAL_BASE_URL", bind: text(&c.OneSignalBaseURL), deployment: true},
		}},
		{"Analytics (Mixpanel; unset: the analytics_events table)", []setting{
			{name: "MIXPANEL_TOKEN", bind: text(&c.MixpanelToken), rules: noPlaceholder, rowDefault: "`analytics_events` table",
				doc:        "Analytics through Mixpanel: the project's token; without it analytics go to the `analytics_events` table.",
				deployment: true},
			{name: "MIXPANEL_BASE_URL", bind: text(&c.MixpanelBaseURL), deployment: true},
		}},
		{"Traces (OpenTelemetry over OTLP/HTTP; unset endpoints: traces off)", []setting{
			{name: "OTEL_EXPORTER_OTLP_ENDPOINT", bind: turnsOn(&c.Tracing), rowDefault: "off, `mohallamart`",
				doc: "Traces over OTLP/HTTP (see [Traces](docs/operations.md#traces)): either endpoint turns them on, such as `http://localhost:4318` " +
					"(the collector's OTLP/HTTP port); `OTEL_SERVICE_NAME` is their `service.name`. The exporter also reads " +
					"`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT` and the rest of the `OTEL_EXPORTER_OTLP_*` variables.",
				deployment: true},
			{name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", bind: turnsOn(&c.Tracing), deployment: true},
			{name: "OTEL_SERVICE_NAME", def: "mohallamart", bind: text(&c.ServiceName)},
		}},
		{"Operations", []setting{
			{name: "OPS_EMAIL", bind: text(&c.OpsEmail), doc: "Where failed-job alerts go (unset: alerts off).", deployment: true},
			{name: "CLEANUP_AT", def: "03:00", bind: text(&c.CleanupAt), doc: "When the daily cleanup runs: its time of day and time zone."},
			{name: "CLEANUP_TIMEZONE", def: "Asia/Kolkata", bind: text(&c.CleanupTimezone)},
			{name: "LOG_RETENTION_DAYS", def: "30", bind: positiveInt(&c.LogRetentionDays),
				doc: "Retention, in days, of `app_logs` rows, of the event log (`events`) and of finished River jobs (see [Retention](docs/guarantees.md#retention))."},
			{name: "EVENT_RETENTION_DAYS", def: "30", bind: positiveInt(&c.EventRetentionDays)},
			{name: "JOB_RETENTION_DAYS", def: "7", bind: positiveInt(&c.JobRetentionDays), tuning: true},
			{name: "DELIVERY_RETENTION_DAYS", def: "30", bind: positiveInt(&c.DeliveryRetentionDays),
				doc: "Retention, in days, of `deliveries` rows (every message's recipient and whole body) and of `analytics_events` " +
					"rows (the Postgres analytics sink)."},
			{name: "ANALYTICS_RETENTION_DAYS", def: "90", bind: positiveInt(&c.AnalyticsRetentionDays)},
			{name: "CPU_PROFILE", bind: text(&c.CPUProfile),
				doc: "A file to write the process's CPU profile to (`go tool pprof`), from start until SIGTERM or SIGINT (unset: none); " +
					"`make bench BENCH_FLAGS=-profile` sets it on the servers it measures.",
				deployment: true},
		}},
		{"Tests only (the reliability suite; refused in production)", []setting{
			{name: "TEST_MAX_ATTEMPTS", bind: positiveInt(&c.TestMaxAttempts), rules: testOnly,
				doc: "Every job inserted gets at most this many attempts (instead of its kind's 5 or 10)."},
			{name: "TEST_RETRY_DELAY", bind: positiveDuration(&c.TestRetryDelay), rules: testOnly,
				doc: "A failed attempt is retried after this (instead of River's backoff, about attempt⁴ seconds)."},
			{name: "TEST_CLEANUP_EVERY", bind: positiveDuration(&c.TestCleanupEvery), rules: testOnly,
				doc: "`scheduled-cleanup` runs this often, periods aligned to its multiples (instead of daily at `CLEANUP_AT`)."},
			{name: "TEST_MAX_JOB_TIMEOUT", bind: positiveDuration(&c.TestMaxTimeout), rules: testOnly,
				doc: "Caps every job kind's timeout, so River's rescuer retries the jobs of a killed worker, whatever their kind, " +
					"within about this plus its 30 s round."},
		}},
	}
}

// text is a string setting.
func text(p *string) binding {
	return binding{
		read: func(_, v string) []string { *p = v; return nil },
		values: func() []string {
			if *p == "" {
				return nil
			}
			return []string{*p}
		},
	}
}

// oneOf is a string setting that must be one of allowed.
func oneOf(p *string, allowed ...string) binding {
	b := text(p)
	b.read = func(name, v string) []string {
		*p = v
		if slices.Contains(allowed, v) {
			return nil
		}
		last := len(allowed) - 1
		return []string{fmt.Sprintf("%s must be %s or %s", name, strings.Join(allowed[:last], ", "), allowed[last])}
	}
	return b
}

// list is a comma-separated list; empty items are dropped.
func list(p *[]string) binding {
	return binding{
		read:   func(_, v string) []string { *p = keyList(v); return nil },
		values: func() []string { return *p },
	}
}

// origins is CORS_ORIGINS: a list of browser origins.
func origins(p *[]string) binding {
	b := list(p)
	b.read = func(_, v string) []string {
		*p = keyList(v)
		return originProblems(*p)
	}
	return b
}

// prefixes is TRUSTED_PROXIES: a list of CIDRs or addresses.
func prefixes(p *[]netip.Prefix) binding {
	return binding{
		read: func(_, v string) []string {
			var problems []string
			*p, problems = parseTrustedProxies(v)
			return problems
		},
		values: func() []string { return nil },
	}
}

// boolean is true or false (strconv.ParseBool).
func boolean(p *bool) binding {
	return binding{
		read: func(name, v string) []string {
			if v == "" {
				return nil
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return []string{name + " must be true or false"}
			}
			*p = b
			return nil
		},
		values: func() []string { return []string{strconv.FormatBool(*p)} },
	}
}

// turnsOn sets *p when the variable is set at all: an endpoint that turns
// a feature on.
func turnsOn(p *bool) binding {
	return binding{
		read: func(_, v string) []string {
			if v != "" {
				*p = true
			}
			return nil
		},
		values: func() []string { return nil },
	}
}

// positiveInt is a positive integer; unset leaves 0.
func positiveInt(p *int) binding {
	return binding{
		read: func(name, v string) []string {
			if v == "" {
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return []string{name + " must be a positive integer"}
			}
			*p = n
			return nil
		},
		values: func() []string {
			if *p == 0 {
				return nil
			}
			return []string{strconv.Itoa(*p)}
		},
	}
}

// perHourLimit is a whole number, at least 0, where 0 is no limit: stored
// as -1 (jobs.Deps: negative is no limit).
func perHourLimit(p *int) binding {
	b := positiveInt(p)
	b.read = func(name, v string) []string {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return []string{name + " must be a whole number, at least 0 (0: no limit)"}
		}
		if n == 0 {
			n = -1
		}
		*p = n
		return nil
	}
	return b
}

// perSecondRate is a number of requests per second, at least 0 (0: no
// limit).
func perSecondRate(p *float64) binding {
	return binding{
		read: func(name, v string) []string {
			if v == "" {
				return nil
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return []string{name + " must be a number of requests per second (0: no limit)"}
			}
			*p = f
			return nil
		},
		values: func() []string { return []string{strconv.FormatFloat(*p, 'g', -1, 64)} },
	}
}

// positiveDuration is a positive time.ParseDuration; unset leaves 0.
func positiveDuration(p *time.Duration) binding {
	return binding{
		read: func(name, v string) []string {
			if v == "" {
				return nil
			}
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return []string{name + " must be a positive duration such as 30s"}
			}
			*p = d
			return nil
		},
		values: func() []string {
			if *p == 0 {
				return nil
			}
			return []string{p.String()}
		},
	}
}

// durationOrZero is a duration, at least 0s; zero says what 0s means and
// example is a valid value, for the error.
func durationOrZero(p *time.Duration, example, zero string) binding {
	b := positiveDuration(p)
	b.read = func(name, v string) []string {
		if v == "" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return []string{fmt.Sprintf("%s must be a duration such as %s (0s: %s)", name, example, zero)}
		}
		*p = d
		return nil
	}
	return b
}

// providerTimeout is PROVIDER_TIMEOUT: a positive duration of at most
// jobs.MaxProviderTimeout.
func providerTimeout(p *time.Duration) binding {
	b := positiveDuration(p)
	read := b.read
	b.read = func(name, v string) []string {
		problems := read(name, v)
		if most := jobs.MaxProviderTimeout(); *p > most {
			problems = append(problems, fmt.Sprintf("%s must be at most %s: every job's timeout must hold its provider calls plus %s to record their answers",
				name, most, jobs.RecordMargin))
		}
		return problems
	}
	return b
}

// queueWorkers is QUEUE_WORKERS (parseQueueWorkers): unset, the defaults.
func queueWorkers(p *map[string]int) binding {
	return binding{
		read: func(name, v string) []string {
			workers, err := parseQueueWorkers(v)
			*p = workers
			if err != nil {
				return []string{name + ": " + err.Error()}
			}
			return nil
		},
		values: func() []string { return []string{queueWorkersText(*p)} },
	}
}

// queueWorkersText writes workers as QUEUE_WORKERS pairs, the busiest
// queues first.
func queueWorkersText(workers map[string]int) string {
	queues := slices.SortedFunc(maps.Keys(workers), func(a, b string) int {
		return cmp.Or(cmp.Compare(workers[b], workers[a]), strings.Compare(a, b))
	})
	pairs := make([]string, len(queues))
	for i, q := range queues {
		pairs[i] = q + "=" + strconv.Itoa(workers[q])
	}
	return strings.Join(pairs, ",")
}

// providerRates is PROVIDER_RATE_LIMITS (parseProviderRates).
func providerRates(p *map[string]limit.Rule) binding {
	return binding{
		read: func(name, v string) []string {
			rates, err := parseProviderRates(v)
			*p = rates
			if err != nil {
				return []string{name + ": " + err.Error()}
			}
			return nil
		},
		values: func() []string { return nil },
	}
}
