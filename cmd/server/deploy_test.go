package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The operator's files in deploy/, checked against the code they describe.
const (
	dashboardFile  = "../../deploy/grafana/mohallamart.json"
	alertsFile     = "../../deploy/prometheus/alerts.yml"
	prometheusFile = "../../deploy/prometheus/prometheus.yml"
	composeFile    = "../../deploy/compose.yaml"
	unitFile       = "../../deploy/systemd/mohallamart.service"
	unitEnvFile    = "../../deploy/systemd/mohallamart.env.example"
)

// TestDeployQueriesUseExportedMetrics reads every query of the Grafana
// dashboard and the alert rules and checks that each names only metrics,
// and labels of them, that the server's /metrics serves (as wired by
// newMetrics, with every metric reporting) or Prometheus adds (up, job,
// instance), and only PromQL functions; and that the dashboard shows every
// mohallamart_ metric.
func TestDeployQueriesUseExportedMetrics(t *testing.T) {
	t.Parallel()
	known, families := exportedSeries(t, servedMetrics(t))

	queries := append(dashboardQueries(t), alertQueries(t)...)
	shown := map[string]bool{}
	for _, q := range queries {
		parsed, problems := checkQuery(q.expr, known)
		require.Empty(t, problems, "%s: %s", q.where, q.expr)
		if strings.HasPrefix(q.where, "dashboard") {
			for _, s := range parsed.selectors {
				shown[s.metric] = true
			}
		}
	}
	for _, family := range families {
		if !strings.HasPrefix(family, "mohallamart_") {
			continue
		}
		require.True(t, shown[family] || shown[family+"_bucket"] || shown[family+"_count"],
			"the dashboard shows no query of %s", family)
	}
}

// TestCheckQuery shows that checkQuery fails a query that names a metric,
// label or function that does not exist, and passes ones that do.
func TestCheckQuery(t *testing.T) {
	t.Parallel()
	known := map[string][]string{
		"mohallamart_jobs_total":                      {"kind", "outcome", "job", "instance"},
		"mohallamart_job_run_duration_seconds_bucket": {"kind", "le", "job", "instance"},
		"up": {"job", "instance"},
	}
	for _, tc := range []struct{ expr, problem string }{
		{`sum by (kind) (rate(mohallamart_jobs_total{outcome="completed"}[5m]))`, ""},
		{`histogram_quantile(0.99, sum by (kind, le) (rate(mohallamart_job_run_duration_seconds_bucket{job="$job"}[$__rate_interval])))`, ""},
		{`(sum(increase(mohallamart_jobs_total{kind="track_analytics"}[10m])) or vector(0)) == 0`, ""},
		{"mohallamart_jobs_total unless mohallamart_jobs_total offset 15m # a comment naming no_such_metric", ""},
		{`up{job="mohallamart"} == 0`, ""},
		{`rate(mohallamart_job_total[5m])`, `unknown metric "mohallamart_job_total"`},
		{`sum(rate(mohallamart_jobs_total[5m])) / sum(rate(mohallamart_jobs_failed[5m]))`, `unknown metric "mohallamart_jobs_failed"`},
		{`mohallamart_jobs_total{outcom="completed"}`, `mohallamart_jobs_total has no label "outcom"`},
		{`sum by (queue) (mohallamart_jobs_total)`, `grouping by "queue"`},
		{`rat(mohallamart_jobs_total[5m])`, `unknown function "rat"`},
		{`sum(rate(mohallamart_jobs_total[5m])`, "unbalanced"},
		{`{__name__="mohallamart_jobs_total"}`, "without a metric name"},
	} {
		_, problems := checkQuery(tc.expr, known)
		if tc.problem == "" {
			require.Empty(t, problems, tc.expr)
			continue
		}
		require.NotEmpty(t, problems, tc.expr)
		require.Contains(t, strings.Join(problems, "; "), tc.problem, tc.expr)
	}
}

// TestAlertRules checks the alert rules' shape: every rule is an alert with
// a severity the routing knows, a summary and a description; and that the
// scrape job they (and the dashboard) select is the one prometheus.yml
// scrapes.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	var rules ruleFile
	decodeYAMLStrict(t, alertsFile, &rules)
	require.NotEmpty(t, rules.Groups)
	names := map[string]bool{}
	for _, g := range rules.Groups {
		require.NotEmpty(t, g.Rules, g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: a rule without an alert name", g.Name)
			require.False(t, names[r.Alert], "alert %s defined twice", r.Alert)
			names[r.Alert] = true
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.NotEmpty(t, r.Annotations["description"], r.Alert)
			if r.For != "" {
				_, err := model.ParseDuration(r.For)
				require.NoError(t, err, r.Alert)
			}
		}
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	decodeYAML(t, prometheusFile, &prom)
	require.Contains(t, prom.RuleFiles, "alerts.yml")
	require.Len(t, prom.ScrapeConfigs, 1)
	scrapeJob := prom.ScrapeConfigs[0].JobName

	jobs := map[string]bool{}
	for _, q := range alertQueries(t) {
		parsed, _ := checkQuery(q.expr, nil)
		for _, s := range parsed.selectors {
			require.Contains(t, s.matchers, "job", "%s: every selector names the scrape job", q.where)
			jobs[s.matchers["job"]] = true
		}
	}
	require.Equal(t, map[string]bool{scrapeJob: true}, jobs, "the alerts select the job prometheus.yml scrapes")

	var dash struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &dash))
	jobVar := ""
	for _, v := range dash.Templating.List {
		if v.Name == "job" {
			jobVar = v.Query
		}
	}
	require.Equal(t, scrapeJob, jobVar, "the dashboard's job variable defaults to the scraped job")
}

// TestDeployConfigs starts loadConfig on the environment each deployment
// file gives the server (compose services with the secrets an operator
// sets in deploy/.env, the systemd env file with its empty secrets filled
// in): each must be a valid production configuration naming only variables
// the server reads, and each must let a stopping server finish: a stop
// timeout above SHUTDOWN_TIMEOUT plus the grace cancelled jobs get. Neither
// file may hold a placeholder secret: compose requires each secret
// (${VAR:?message}), and the systemd env file leaves them empty, so the
// server refuses to start until they are set.
func TestDeployConfigs(t *testing.T) {
	t.Parallel()
	read := map[string]bool{}
	_, _ = loadConfig(func(k string) string { read[k] = true; return "" })

	check := func(where string, env map[string]string) Config {
		t.Helper()
		for k := range env {
			require.True(t, read[k], "%s sets %s, which the server does not read", where, k)
		}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		require.NoError(t, err, where)
		require.Equal(t, "production", cfg.AppEnv, where)
		return cfg
	}
	for _, file := range []string{composeFile, unitEnvFile} {
		for _, line := range fileLines(t, file) {
			if !strings.HasPrefix(line, "#") {
				require.NotContains(t, strings.ToUpper(line), placeholder, "%s: no placeholder secrets", file)
			}
		}
	}

	var compose struct {
		Services map[string]struct {
			Command         []string          `yaml:"command"`
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
			Ports           []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	decodeYAML(t, composeFile, &compose)
	serving := 0
	for name, svc := range compose.Services {
		if len(svc.Command) == 0 || (svc.Command[0] != "serve" && svc.Command[0] != "migrate") {
			continue // not the server (PostgreSQL)
		}
		env := map[string]string{}
		for k, v := range svc.Environment {
			env[k] = composeInterpolate(v)
		}
		for _, secret := range []string{"EVENT_KEYS", "API_KEYS", "ADMIN_USER", "ADMIN_PASSWORD", "DATABASE_URL"} {
			require.Contains(t, svc.Environment[secret], ":?", "compose service %s: %s is required, without a default", name, secret)
		}
		cfg := check("compose service "+name, env)
		if svc.Command[0] == "serve" {
			serving++
			stop, err := time.ParseDuration(svc.StopGracePeriod)
			require.NoError(t, err, "compose service %s: stop_grace_period", name)
			require.Greater(t, stop, cfg.ShutdownTimeout+cancelSlack, "compose service %s: stop_grace_period", name)
			_, opsPort, err := net.SplitHostPort(cfg.OpsAddr)
			require.NoError(t, err, "compose service %s: OPS_ADDR", name)
			for _, p := range svc.Ports {
				require.NotContains(t, p, opsPort, "compose service %s publishes the operations port (/metrics)", name)
			}
		}
	}
	require.Positive(t, serving, "compose runs the server")

	env := map[string]string{}
	for _, line := range fileLines(t, unitEnvFile) {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	_, err := loadConfig(func(k string) string { return env[k] })
	for _, secret := range []string{"DATABASE_URL", "EVENT_KEYS", "API_KEYS", "ADMIN_USER", "ADMIN_PASSWORD"} {
		require.ErrorContains(t, err, secret+" is required in production", "%s leaves the secrets to set", unitEnvFile)
		env[secret] = strong(secret)
	}
	cfg := check(unitEnvFile, env)
	unit := map[string]string{}
	for _, line := range fileLines(t, unitFile) {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			unit[k] = v
		}
	}
	stop, err := time.ParseDuration(unit["TimeoutStopSec"])
	require.NoError(t, err, "TimeoutStopSec")
	require.Greater(t, stop, cfg.ShutdownTimeout+cancelSlack, "TimeoutStopSec")
	require.Equal(t, "on-failure", unit["Restart"])
}

// TestPrometheusScrapesOpsPort: prometheus.yml scrapes every target on the
// port production serves /metrics on (OPS_ADDR's default), not the API's.
func TestPrometheusScrapesOpsPort(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(envFunc(productionEnv()...))
	require.NoError(t, err)
	_, opsPort, err := net.SplitHostPort(cfg.OpsAddr)
	require.NoError(t, err)
	var prom struct {
		ScrapeConfigs []struct {
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeYAML(t, prometheusFile, &prom)
	targets := 0
	for _, sc := range prom.ScrapeConfigs {
		require.Equal(t, "/metrics", sc.MetricsPath)
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				_, port, err := net.SplitHostPort(target)
				require.NoError(t, err, target)
				require.Equal(t, opsPort, port, "%s: /metrics is served on OPS_ADDR", target)
				targets++
			}
		}
	}
	require.Positive(t, targets)
}

// composeInterpolate interpolates v as compose does with the operator's
// deploy/.env setting every required variable (${NAME:?message}, given
// strong(NAME)) and none of the optional ones: ${NAME:-default} and
// ${NAME-default} become default, ${NAME} "".
func composeInterpolate(v string) string {
	v = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}`).ReplaceAllStringFunc(v, func(m string) string {
		return strong(m[2:strings.Index(m, ":")])
	})
	return regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}`).ReplaceAllString(v, "$1")
}

// query is one PromQL expression of a deployment file and where it is.
type query struct{ where, expr string }

// dashboardQueries returns the expression of every panel target of the
// Grafana dashboard, and checks that every panel but a row has one.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	type panel struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	var out []query
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			require.NoError(t, json.Unmarshal(r, &p))
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			require.NotEmpty(t, p.Targets, "dashboard panel %q has no query", p.Title)
			for _, tg := range p.Targets {
				require.NotEmpty(t, tg.Expr, "dashboard panel %q", p.Title)
				out = append(out, query{where: fmt.Sprintf("dashboard panel %q", p.Title), expr: tg.Expr})
			}
		}
	}
	walk(dash.Panels)
	require.NotEmpty(t, out)
	return out
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// alertQueries returns every alert rule's expression.
func alertQueries(t *testing.T) []query {
	t.Helper()
	var rules ruleFile
	decodeYAMLStrict(t, alertsFile, &rules)
	var out []query
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Expr, "alert %s", r.Alert)
			out = append(out, query{where: "alert " + r.Alert, expr: r.Expr})
		}
	}
	require.NotEmpty(t, out)
	return out
}

// decodeYAML decodes the YAML file at path into v, ignoring fields v lacks.
func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

// decodeYAMLStrict decodes the YAML file at path into v and fails on any
// field v does not have (a misspelt key).
func decodeYAMLStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), path)
}

// fileLines returns the trimmed, non-empty lines of the file at path.
func fileLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// exportedSeries parses what /metrics served into the series names a query
// can select, each with its label names, and the metric family names.
// Histograms and summaries are selected through their _bucket, _sum and
// _count series (and a summary's quantiles); every series also carries the
// target labels job and instance, and Prometheus adds up for each target.
func exportedSeries(t *testing.T, text string) (map[string][]string, []string) {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err)
	target := []string{"job", "instance"}
	known := map[string][]string{"up": target}
	for name, f := range families {
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		names := append(slices.Sorted(maps.Keys(labels)), target...)
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			known[name+"_bucket"] = append(slices.Clone(names), "le")
			known[name+"_sum"] = names
			known[name+"_count"] = names
		case dto.MetricType_SUMMARY:
			known[name] = append(slices.Clone(names), "quantile")
			known[name+"_sum"] = names
			known[name+"_count"] = names
		default:
			known[name] = names
		}
	}
	return known, slices.Sorted(maps.Keys(families))
}

// promQL is what a PromQL expression refers to.
type promQL struct {
	selectors []selector // metric selectors
	grouping  []string   // labels of by, without, on, ignoring, group_left, group_right
	funcs     []string   // functions and aggregations called
}

// selector is a metric selector: the metric and its label matchers
// (label → value as written).
type selector struct {
	metric   string
	matchers map[string]string
}

// promQLFunctions are PromQL's functions and aggregation operators.
const promQLFunctions = `sum avg min max count group stddev stdvar topk bottomk quantile count_values limitk
	abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year
	days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
	histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase irate label_join
	label_replace ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc
	sort_by_label sort_by_label_desc sqrt time timestamp vector year avg_over_time min_over_time max_over_time
	sum_over_time count_over_time quantile_over_time stddev_over_time stdvar_over_time last_over_time
	present_over_time acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi`

// checkQuery parses expr and reports each metric it selects that known
// lacks, each matcher or grouping label that none of its metrics has, each
// unknown function, and syntax it cannot follow. A nil known checks only
// the syntax.
func checkQuery(expr string, known map[string][]string) (promQL, []string) {
	q, err := parsePromQL(expr)
	if err != nil {
		return q, []string{err.Error()}
	}
	var problems []string
	functions := strings.Fields(promQLFunctions)
	for _, f := range q.funcs {
		if !slices.Contains(functions, f) {
			problems = append(problems, fmt.Sprintf("unknown function %q", f))
		}
	}
	if known == nil {
		return q, problems
	}
	labels := map[string]bool{}
	for _, s := range q.selectors {
		ls, ok := known[s.metric]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown metric %q", s.metric))
			continue
		}
		for _, l := range ls {
			labels[l] = true
		}
		for l := range s.matchers {
			if !slices.Contains(ls, l) {
				problems = append(problems, fmt.Sprintf("%s has no label %q", s.metric, l))
			}
		}
	}
	for _, l := range q.grouping {
		if !labels[l] {
			problems = append(problems, fmt.Sprintf("grouping by %q, a label none of the query's metrics has", l))
		}
	}
	return q, problems
}

// parsePromQL follows a PromQL expression (with Grafana's $variables) far
// enough to find its selectors, grouping labels and functions: strings,
// comments, durations and [range] brackets are skipped, a name followed by
// ( is a function, a grouping keyword is followed by its label list, and
// any other name is a metric, with its {matchers}.
func parsePromQL(expr string) (promQL, error) {
	var q promQL
	depth := 0
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return q, err
			}
			i = end
		case c == '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return q, fmt.Errorf("unbalanced [ at %d", i)
			}
			i += end + 1
		case c == '{':
			return q, fmt.Errorf("a selector without a metric name at %d", i)
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return q, fmt.Errorf("unbalanced ) at %d", i)
			}
			i++
		case c == '$':
			i = skipVariable(expr, i)
		case isDigit(c) || c == '.':
			i = skipNumber(expr, i)
		case isNameStart(c):
			end := i
			for end < len(expr) && isNameChar(expr[end]) {
				end++
			}
			word := expr[i:end]
			next := skipSpace(expr, end)
			i = end
			switch lower := strings.ToLower(word); {
			case lower == "by" || lower == "without" || lower == "on" || lower == "ignoring" ||
				lower == "group_left" || lower == "group_right":
				if next < len(expr) && expr[next] == '(' {
					labels, after, err := parseLabelList(expr, next)
					if err != nil {
						return q, err
					}
					q.grouping = append(q.grouping, labels...)
					i = after
				}
			case lower == "and" || lower == "or" || lower == "unless" || lower == "bool" ||
				lower == "offset" || lower == "atan2" || lower == "inf" || lower == "nan":
			case next < len(expr) && expr[next] == '(' || isGroupedAggregation(expr, next):
				q.funcs = append(q.funcs, word)
			default:
				s := selector{metric: word}
				if next < len(expr) && expr[next] == '{' {
					m, after, err := parseMatchers(expr, next)
					if err != nil {
						return q, err
					}
					s.matchers = m
					i = after
				}
				q.selectors = append(q.selectors, s)
			}
		default:
			i++ // space, operator or comma
		}
	}
	if depth != 0 {
		return q, fmt.Errorf("unbalanced ( in %q", expr)
	}
	return q, nil
}

// isGroupedAggregation says whether expr[next:] starts with by or without
// and a label list, as after an aggregation: sum by (kind) (...).
func isGroupedAggregation(expr string, next int) bool {
	word := strings.ToLower(expr[next:])
	for _, kw := range []string{"by", "without"} {
		if strings.HasPrefix(word, kw) && (len(word) == len(kw) || !isNameChar(word[len(kw)])) {
			after := skipSpace(expr, next+len(kw))
			return after < len(expr) && expr[after] == '('
		}
	}
	return false
}

// parseMatchers reads {label op "value", ...} starting at expr[start] ==
// '{' and returns the matchers and the index after the closing }.
func parseMatchers(expr string, start int) (map[string]string, int, error) {
	m := map[string]string{}
	i := skipSpace(expr, start+1)
	for i < len(expr) && expr[i] != '}' {
		end := i
		for end < len(expr) && isNameChar(expr[end]) {
			end++
		}
		if end == i || !isNameStart(expr[i]) {
			return nil, 0, fmt.Errorf("a label name expected at %d", i)
		}
		label := expr[i:end]
		i = skipSpace(expr, end)
		op := ""
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(expr[i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, 0, fmt.Errorf("a matcher operator expected after %s", label)
		}
		i = skipSpace(expr, i+len(op))
		valueEnd, err := skipString(expr, i)
		if err != nil {
			return nil, 0, err
		}
		m[label] = expr[i+1 : valueEnd-1]
		i = skipSpace(expr, valueEnd)
		if i < len(expr) && expr[i] == ',' {
			i = skipSpace(expr, i+1)
		}
	}
	if i >= len(expr) {
		return nil, 0, fmt.Errorf("unbalanced { at %d", start)
	}
	return m, i + 1, nil
}

// parseLabelList reads (label, ...) starting at expr[start] == '(' and
// returns the labels and the index after the closing ).
func parseLabelList(expr string, start int) ([]string, int, error) {
	end := strings.IndexByte(expr[start:], ')')
	if end < 0 {
		return nil, 0, fmt.Errorf("unbalanced ( at %d", start)
	}
	var labels []string
	for _, l := range strings.Split(expr[start+1:start+end], ",") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	return labels, start + end + 1, nil
}

// skipString returns the index after the string literal at expr[start].
func skipString(expr string, start int) (int, error) {
	if start >= len(expr) || !strings.ContainsRune("\"'`", rune(expr[start])) {
		return 0, fmt.Errorf("a string expected at %d", start)
	}
	quote := expr[start]
	for i := start + 1; i < len(expr); i++ {
		switch {
		case expr[i] == '\\' && quote != '`':
			i++
		case expr[i] == quote:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", start)
}

// skipVariable returns the index after the Grafana variable ($name or
// ${name}) at expr[start].
func skipVariable(expr string, start int) int {
	i := start + 1
	if i < len(expr) && expr[i] == '{' {
		if end := strings.IndexByte(expr[i:], '}'); end >= 0 {
			return i + end + 1
		}
		return len(expr)
	}
	for i < len(expr) && isNameChar(expr[i]) {
		i++
	}
	return i
}

// skipNumber returns the index after the number or duration (0.99, 1e-3,
// 0x1f, 15m) at expr[start].
func skipNumber(expr string, start int) int {
	i := start
	for i < len(expr) {
		c := expr[i]
		switch {
		case isNameChar(c) || c == '.':
			i++
		case (c == '+' || c == '-') && i > start && (expr[i-1] == 'e' || expr[i-1] == 'E'):
			i++
		default:
			return i
		}
	}
	return i
}

func skipSpace(expr string, i int) int {
	for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
		i++
	}
	return i
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }
