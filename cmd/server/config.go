package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/limit"
	"github.com/mohallamart/backend/notify"
)

// Config is the server's whole configuration, read from the environment
// once at start-up through the settings table (settings.go), which
// documents every variable.
type Config struct {
	DatabaseURL          string                // DATABASE_URL; empty in development: a private cluster under DataDir
	DataDir              string                // DATA_DIR, default .data
	Addr                 string                // ADDR, default 127.0.0.1:8080 in development, :8080 in production
	OpsAddr              string                // OPS_ADDR: /metrics, /healthz, /readyz; default :9090 in production, unset in development (on ADDR)
	Role                 string                // ROLE: all | api | worker
	AppEnv               string                // APP_ENV: development | production
	MigrateOnStart       bool                  // MIGRATE_ON_START, default true in development
	ShutdownTimeout      time.Duration         // SHUTDOWN_TIMEOUT, default 30s
	DBTimeout            time.Duration         // DB_TIMEOUT: connect timeout and per-request database budget, default 5s
	DBMaxConns           int                   // DB_MAX_CONNS: connections this process opens in all, default 40
	DBAPIConns           int                   // DB_API_CONNS: of those, the HTTP API's own pool when ROLE=all, default 8
	QueueWorkers         map[string]int        // QUEUE_WORKERS: jobs worked at once per queue (see jobs.DefaultQueueWorkers)
	FetchCooldown        time.Duration         // FETCH_COOLDOWN: least time between two fetches of one queue, default 5ms
	FetchPoll            time.Duration         // FETCH_POLL_INTERVAL: fetch this often when no LISTEN/NOTIFY wake-up came, default 100ms
	IndexDebounce        time.Duration         // INDEX_DEBOUNCE: index-product runs this long after a product's last change, default 2s; 0s: at once
	AnalyticsBatchWait   time.Duration         // ANALYTICS_BATCH_WAIT: track-analytics sends a batch this long after its first event, default 5s
	NotificationsPerHour int                   // NOTIFICATIONS_PER_HOUR: notification/send messages one recipient gets an hour at most, default 10; 0: no limit
	ProviderTimeout      time.Duration         // PROVIDER_TIMEOUT: HTTP timeout of every outside service, default 10s
	ProviderRates        map[string]limit.Rule // PROVIDER_RATE_LIMITS: requests per period to resend, twilio, onesignal, shared by every process; by channel
	LogLevel             string                // LOG_LEVEL: debug | info | warn | error, default info
	RateLimit            float64               // RATE_LIMIT: event API and /v1 requests per second per key, default 200; 0 turns it off
	RateBurst            int                   // RATE_BURST: requests a key may send at once, default 2 × RATE_LIMIT
	Tracing              bool                  // on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
	ServiceName          string                // OTEL_SERVICE_NAME: the traces' service.name, default mohallamart

	EventKeys        []string       // EVENT_KEYS, comma-separated: server-side keys that send events (any name) only
	PublicEventKeys  []string       // PUBLIC_EVENT_KEYS, comma-separated: keys for browser pages, sending PUBLIC_EVENT_NAMES only
	PublicEventNames []string       // PUBLIC_EVENT_NAMES, comma-separated, default analytics/track
	APIKeys          []string       // API_KEYS, comma-separated: the REST routes
	CORSOrigins      []string       // CORS_ORIGINS, comma-separated: browser origins that may send events (with public keys)
	TrustedProxies   []netip.Prefix // TRUSTED_PROXIES, comma-separated CIDRs or IPs: whose X-Forwarded-For names the client
	AdminUser        string         // ADMIN_USER: River UI basic auth
	AdminPassword    string         // ADMIN_PASSWORD

	EmailFrom          string // EMAIL_FROM
	ResendAPIKey       string // RESEND_API_KEY
	ResendBaseURL      string // RESEND_BASE_URL
	TypesenseURL       string // TYPESENSE_URL
	TypesenseAPIKey    string // TYPESENSE_API_KEY
	TwilioAccountSID   string // TWILIO_ACCOUNT_SID
	TwilioAuthToken    string // TWILIO_AUTH_TOKEN
	TwilioFrom         string // TWILIO_FROM
	TwilioBaseURL      string // TWILIO_BASE_URL
	OneSignalAppID     string // ONESIGNAL_APP_ID
	OneSignalAPIKey    string // ONESIGNAL_API_KEY
	OneSignalBaseURL   string // ONESIGNAL_BASE_URL
	MixpanelToken      string // MIXPANEL_TOKEN
	MixpanelBaseURL    string // MIXPANEL_BASE_URL
	OpsEmail           string // OPS_EMAIL
	CPUProfile         string // CPU_PROFILE: where serve writes the process's CPU profile
	CleanupAt          string // CLEANUP_AT: daily cleanup time of day, default 03:00
	CleanupTimezone    string // CLEANUP_TIMEZONE, default Asia/Kolkata
	LogRetentionDays   int    // LOG_RETENTION_DAYS, default 30
	EventRetentionDays int    // EVENT_RETENTION_DAYS, default 30
	JobRetentionDays   int    // JOB_RETENTION_DAYS: finished River jobs, default 7

	DeliveryRetentionDays  int // DELIVERY_RETENTION_DAYS: deliveries rows (recipients, bodies), default 30
	AnalyticsRetentionDays int // ANALYTICS_RETENTION_DAYS: analytics_events rows, default 90

	// Test settings compress time for the reliability suite; production
	// refuses them (see testSettings).
	TestMaxAttempts  int           // TEST_MAX_ATTEMPTS: every job inserted gets at most this many attempts
	TestRetryDelay   time.Duration // TEST_RETRY_DELAY: a failed attempt is retried after this, instead of River's attempt⁴ s backoff
	TestCleanupEvery time.Duration // TEST_CLEANUP_EVERY: scheduled_cleanup runs this often instead of daily at CLEANUP_AT
	TestMaxTimeout   time.Duration // TEST_MAX_JOB_TIMEOUT: caps every job kind's timeout, so River's rescuer retries a killed worker's jobs sooner
}

// Role values.
const (
	RoleAll    = "all"
	RoleAPI    = "api"
	RoleWorker = "worker"
)

// loadConfig reads the configuration from getenv (os.Getenv in main) and
// reports every invalid or missing variable by name. Every variable is
// read through its row of the settings table (settings.go): its default
// (with APP_ENV=production, its production default) when unset, its
// parser, its production rules. It fails closed: the server runs without
// keys, admin password or DATABASE_URL only in development on a loopback
// address (see exposureProblems), and an outside service is used fully
// configured or not at all (see providerProblems).
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	prod := get("APP_ENV") == "production" // which defaults apply
	var (
		c        Config
		problems []string
	)
	for _, s := range settings(&c) {
		def := s.def
		if prod && s.prodDef != "" {
			def = s.prodDef
		}
		if s.defOf != nil {
			def = s.defOf()
		}
		v := getenv(s.name)
		if !s.untrimmed {
			v = strings.TrimSpace(v)
		}
		if v == "" {
			v = def
		}
		if p := s.bind.read(s.name, v); len(p) > 0 {
			problems = append(problems, p...)
			if v != def {
				_ = s.bind.read(s.name, def) // c keeps the default
			}
		}
	}
	if prod {
		for _, setting := range c.testSettings() {
			name, _, _ := strings.Cut(setting, "=")
			problems = append(problems, name+" is a test setting, refused in production")
		}
	}

	problems = append(problems, c.exposureProblems()...)
	problems = append(problems, c.secretProblems()...)
	problems = append(problems, c.providerProblems(get)...)
	problems = append(problems, c.poolProblems()...)
	if len(problems) > 0 {
		return c, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// testSettings lists the test settings in effect (the settings with the
// rule testOnly), as NAME=value: the server warns of them at start, and
// production refuses them.
func (c Config) testSettings() []string {
	var set []string
	for _, s := range settings(&c) {
		if s.rules&testOnly != 0 {
			for _, v := range s.bind.values() {
				set = append(set, s.name+"="+v)
			}
		}
	}
	return set
}

// originProblems checks CORS_ORIGINS: each entry must be a browser origin,
// scheme://host[:port] with http or https and nothing after it. A wildcard
// is refused: any page could then send events with the key it holds.
func originProblems(origins []string) []string {
	var problems []string
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(u.Host, "*") {
			problems = append(problems, fmt.Sprintf("CORS_ORIGINS: %q is not an origin such as https://mohallamart.example (scheme://host[:port], no wildcard)", o))
		}
	}
	return problems
}

// parseTrustedProxies reads TRUSTED_PROXIES: comma-separated CIDRs
// (10.0.0.0/8) or single addresses.
func parseTrustedProxies(v string) ([]netip.Prefix, []string) {
	var (
		out      []netip.Prefix
		problems []string
	)
	for _, item := range keyList(v) {
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(item); err == nil && ip.Zone() == "" {
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		problems = append(problems, fmt.Sprintf("TRUSTED_PROXIES: %q is not an IP address or CIDR such as 10.0.0.0/8", item))
	}
	return out, problems
}

// keyList splits a comma-separated list of keys, dropping empty ones.
func keyList(v string) []string {
	var keys []string
	for _, k := range strings.Split(v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// loopback reports whether addr (ADDR) listens on this machine only: its
// host is localhost or a loopback IP. An empty host (":8080") means every
// interface. valid is false when addr is not host:port.
func loopback(addr string) (local, valid bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	if strings.EqualFold(host, "localhost") {
		return true, true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), true
}

// missingSecrets names the variables a server reachable from other machines
// needs and does not have (the settings with the rule required or
// requiredToServe): DATABASE_URL (otherwise a private cluster with
// fsync=off), and where the process serves the API, its keys and River UI's
// admin credentials.
func (c Config) missingSecrets() []string {
	var missing []string
	for _, s := range settings(&c) {
		need := s.rules&required != 0 ||
			s.rules&requiredToServe != 0 && c.Role != RoleWorker // a worker serves only /healthz, /readyz and /metrics
		if need && len(s.bind.values()) == 0 {
			missing = append(missing, s.name)
		}
	}
	return missing
}

// exposureProblems fails the configuration closed. Development may run
// without keys (routes open, with a warning), without admin credentials
// (River UI, which can cancel and delete jobs, open) and without
// DATABASE_URL (a private fsync=off cluster), but only on a loopback
// address. Any other address needs APP_ENV=production, and production
// needs every secret. Event keys and API keys must differ, or event senders
// would get the REST API.
func (c Config) exposureProblems() []string {
	var problems []string
	local, valid := loopback(c.Addr)
	if !valid {
		problems = append(problems, "ADDR must be host:port, such as 127.0.0.1:8080")
	}
	missing := c.missingSecrets()
	switch {
	case c.AppEnv == "production":
		for _, name := range missing {
			problems = append(problems, name+" is required in production")
		}
	case valid && !local:
		need := "APP_ENV=production"
		if len(missing) > 0 {
			need += " and " + strings.Join(missing, ", ")
		}
		problems = append(problems, fmt.Sprintf("ADDR %s is reachable from other machines, which needs %s; "+
			"for development listen on this machine only (ADDR=127.0.0.1:8080, the default)", c.Addr, need))
	}
	if c.OpsAddr != "" {
		problems = append(problems, c.opsAddrProblems()...)
	}
	if len(c.PublicEventKeys) > 0 && len(c.EventKeys) == 0 {
		problems = append(problems, "PUBLIC_EVENT_KEYS needs EVENT_KEYS too: the server-side keys, which send the events pages may not")
	}
	return problems
}

// opsAddrProblems checks OPS_ADDR: host:port, on this machine only in
// development, and not ADDR's port.
func (c Config) opsAddrProblems() []string {
	local, valid := loopback(c.OpsAddr)
	switch {
	case !valid:
		return []string{"OPS_ADDR must be host:port, such as 127.0.0.1:9090"}
	case c.AppEnv != "production" && !local:
		return []string{fmt.Sprintf("OPS_ADDR %s is reachable from other machines, which needs APP_ENV=production; "+
			"for development listen on this machine only (OPS_ADDR=127.0.0.1:9090) or leave it unset (the operations routes are then on ADDR)", c.OpsAddr)}
	}
	_, opsPort, _ := net.SplitHostPort(c.OpsAddr)
	if _, port, err := net.SplitHostPort(c.Addr); err == nil && c.Role != RoleWorker && port == opsPort && port != "0" {
		return []string{fmt.Sprintf("OPS_ADDR %s and ADDR %s share a port; the operations listener needs its own", c.OpsAddr, c.Addr)}
	}
	return nil
}

// minSecretLength is the least number of characters production takes for
// a key or password of this server's own.
const minSecretLength = 24

// placeholder is what deployment examples mark a value to replace with.
const placeholder = "CHANGE_ME"

// secretProblems refuses a value used twice as a key (in two of the
// settings with the rule ownKey: EVENT_KEYS, PUBLIC_EVENT_KEYS and
// API_KEYS, which would give one key two scopes), and in production weak
// secrets: a key or password (ownPassword: ADMIN_PASSWORD) shorter than
// minSecretLength, the placeholder CHANGE_ME (in any case) in any of them,
// in a provider's secret (providerSecret) or in a noPlaceholder setting,
// and a value that any two keys, passwords or providers' secrets share.
// The problems name the variables, never the values.
func (c Config) secretProblems() []string {
	type secret struct{ name, value string }
	prod := c.AppEnv == "production"
	var own, others, placeholderOnly []secret // own: this server's keys and password
	for _, s := range settings(&c) {
		for _, v := range s.bind.values() {
			switch {
			case s.rules&ownKey != 0:
				own = append(own, secret{s.name, v})
			case !prod:
			case s.rules&ownPassword != 0:
				own = append(own, secret{s.name, v})
			case s.rules&providerSecret != 0:
				others = append(others, secret{s.name, v})
			case s.rules&noPlaceholder != 0:
				placeholderOnly = append(placeholderOnly, secret{s.name, v})
			}
		}
	}
	shared := append(slices.Clone(own), others...) // no two may share a value
	var problems []string
	add := func(p string) {
		if !slices.Contains(problems, p) {
			problems = append(problems, p)
		}
	}
	for i, a := range shared {
		for _, b := range shared[i+1:] {
			switch {
			case a.value != b.value:
			case a.name != b.name:
				add(fmt.Sprintf("the same value is in both %s and %s; every key and password must be different", a.name, b.name))
			case prod:
				add(a.name + " holds the same key twice; every key must be different")
			}
		}
	}
	if !prod {
		return problems
	}
	for _, s := range own {
		if len(s.value) < minSecretLength {
			add(fmt.Sprintf("%s: every key and password must be at least %d characters in production (e.g. openssl rand -hex 24)", s.name, minSecretLength))
		}
	}
	for _, s := range append(shared, placeholderOnly...) {
		if strings.Contains(strings.ToUpper(s.value), placeholder) {
			add(fmt.Sprintf("%s holds the placeholder %s; set the real value", s.name, placeholder))
		}
	}
	return problems
}

// providerGroup is the variables of one outside service (or of River UI's
// basic auth): setting some of them and not the rest is refused, instead
// of quietly falling back to the default.
type providerGroup struct {
	what     string   // "SMS through Twilio"
	vars     []string // any of these set turns the service on
	required []string // the service needs all of these
	without  string   // what happens when every one of vars is unset
}

// providerProblems names the missing variables of every half-configured
// service, and refuses an EMAIL_FROM Resend cannot send from. get reads a
// variable (trimmed; "" when unset, without default).
func (c Config) providerProblems(get func(string) string) []string {
	groups := []providerGroup{
		{"email through Resend", []string{"RESEND_API_KEY", "RESEND_BASE_URL"}, []string{"RESEND_API_KEY", "EMAIL_FROM"},
			"emails are captured in the deliveries table"},
		{"SMS through Twilio", []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_BASE_URL"},
			[]string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"}, "SMS are captured in the deliveries table"},
		{"push through OneSignal", []string{"ONESIGNAL_APP_ID", "ONESIGNAL_API_KEY", "ONESIGNAL_BASE_URL"},
			[]string{"ONESIGNAL_APP_ID", "ONESIGNAL_API_KEY"}, "push notifications are captured in the deliveries table"},
		{"search through Typesense", []string{"TYPESENSE_URL", "TYPESENSE_API_KEY"}, []string{"TYPESENSE_URL", "TYPESENSE_API_KEY"},
			"search uses Postgres full-text search"},
		{"analytics through Mixpanel", []string{"MIXPANEL_TOKEN", "MIXPANEL_BASE_URL"}, []string{"MIXPANEL_TOKEN"},
			"analytics go to the analytics_events table"},
	}
	if c.AppEnv != "production" { // production requires both anyway
		groups = append(groups, providerGroup{"River UI basic auth", []string{"ADMIN_USER", "ADMIN_PASSWORD"},
			[]string{"ADMIN_USER", "ADMIN_PASSWORD"}, "River UI is open (development on loopback only)"})
	}
	var problems []string
	for _, g := range groups {
		var set, missing []string
		for _, name := range g.vars {
			if get(name) != "" {
				set = append(set, name)
			}
		}
		for _, name := range g.required {
			if get(name) == "" {
				missing = append(missing, name)
			}
		}
		if len(set) > 0 && len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("%s is half configured: %s set, %s missing (set the missing, or unset %s: then %s)",
				g.what, strings.Join(set, ", "), strings.Join(missing, ", "), strings.Join(g.vars, ", "), g.without))
		}
	}
	if c.ResendAPIKey != "" && get("EMAIL_FROM") != "" {
		if p := emailFromProblem(c.EmailFrom); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// emailFromProblem says why Resend cannot send from EMAIL_FROM: not an
// address, or on a .local domain (such as the development default), which
// no provider can verify.
func emailFromProblem(from string) string {
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return fmt.Sprintf("EMAIL_FROM %q is not an email address (want Name <user@domain> or user@domain)", from)
	}
	_, domain, _ := strings.Cut(addr.Address, "@")
	domain = strings.ToLower(domain)
	if domain == "local" || strings.HasSuffix(domain, ".local") {
		return fmt.Sprintf("EMAIL_FROM %s is on a .local domain, which Resend cannot send from; set an address on your verified sending domain", addr.Address)
	}
	return ""
}

// parseQueueWorkers reads QUEUE_WORKERS: empty for the defaults, one number
// for every queue, or queue=number pairs ("email=40,search=5") that
// override the defaults of the queues they name.
func parseQueueWorkers(v string) (map[string]int, error) {
	out := jobs.DefaultQueueWorkers()
	if v == "" {
		return out, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return out, errors.New("must be a positive integer or queue=number pairs")
		}
		for q := range out {
			out[q] = n
		}
		return out, nil
	}
	for _, pair := range strings.Split(v, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(pair), "=")
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if !ok || err != nil || n <= 0 {
			return out, fmt.Errorf("%q is not queue=positive number", pair)
		}
		name = strings.TrimSpace(name)
		if _, known := out[name]; !known {
			return out, fmt.Errorf("unknown queue %q (queues: %s)", name, strings.Join(slices.Sorted(maps.Keys(out)), ", "))
		}
		out[name] = n
	}
	return out, nil
}

// rateLimitedProviders names the providers PROVIDER_RATE_LIMITS may name.
const rateLimitedProviders = "onesignal, resend, twilio"

// providerChannel returns the channel provider sends, if
// PROVIDER_RATE_LIMITS may name it.
func providerChannel(provider string) (string, bool) {
	switch provider {
	case "resend":
		return notify.ChannelEmail, true
	case "twilio":
		return notify.ChannelSMS, true
	case "onesignal":
		return notify.ChannelPush, true
	}
	return "", false
}

// parseProviderRates reads PROVIDER_RATE_LIMITS: comma-separated
// provider=N/period pairs, such as resend=2/s or twilio=60/m, where period
// is s, m, h or a duration (500ms). It returns the rules by channel.
func parseProviderRates(v string) (map[string]limit.Rule, error) {
	out := map[string]limit.Rule{}
	if v == "" {
		return out, nil
	}
	for _, pair := range strings.Split(v, ",") {
		name, rate, ok := strings.Cut(strings.TrimSpace(pair), "=")
		name = strings.TrimSpace(name)
		channel, known := providerChannel(name)
		if !known {
			return out, fmt.Errorf("unknown provider %q in %q (providers: %s)", name, pair, rateLimitedProviders)
		}
		num, period, slash := strings.Cut(strings.TrimSpace(rate), "/")
		n, err := strconv.Atoi(num)
		per, perOK := parsePeriod(period)
		if !ok || !slash || err != nil || n <= 0 || !perOK {
			return out, fmt.Errorf("%q is not provider=N/period, such as resend=2/s or twilio=60/m", pair)
		}
		if _, dup := out[channel]; dup {
			return out, fmt.Errorf("provider %q is named twice", name)
		}
		out[channel] = limit.Rule{Key: name, Rate: n, Per: per}
	}
	return out, nil
}

// parsePeriod reads a rate's period: s, m, h, or a positive duration.
func parsePeriod(v string) (time.Duration, bool) {
	switch v {
	case "s":
		return time.Second, true
	case "m":
		return time.Minute, true
	case "h":
		return time.Hour, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}

// riverConns is what River itself needs of a working process's pool
// besides its workers: the LISTEN connection, the completer, the leader's
// maintenance, one fetch at a time.
const riverConns = 4

// poolShares splits DB_MAX_CONNS between the HTTP API's pool and the
// workers' pool (River and every job). A process with one role uses all of
// it for that role.
func (c Config) poolShares() (api, workers int) {
	switch c.Role {
	case RoleAPI:
		return c.DBMaxConns, 0
	case RoleWorker:
		return 0, c.DBMaxConns
	}
	return c.DBAPIConns, c.DBMaxConns - c.DBAPIConns
}

// poolProblems checks that the pools fit what uses them. The API needs two
// connections at least. The workers' pool needs River's own connections
// and one per queue, so every queue can always reach the database; it need
// not hold one per worker, because no job holds a connection while it
// calls an outside service (a job waiting for one waits milliseconds).
func (c Config) poolProblems() []string {
	var problems []string
	api, workers := c.poolShares()
	if c.Role != RoleWorker && api < 2 {
		problems = append(problems, fmt.Sprintf("the HTTP API needs at least 2 connections; it has %d (DB_API_CONNS, or DB_MAX_CONNS for ROLE=api)", api))
	}
	if need := riverConns + len(c.QueueWorkers); c.Role != RoleAPI && workers < need {
		problems = append(problems, fmt.Sprintf("the workers need at least %d connections (River's %d and one per queue); DB_MAX_CONNS %d leaves them %d",
			need, riverConns, c.DBMaxConns, workers))
	}
	return problems
}
