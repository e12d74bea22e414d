package reliability

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/mohallamart/backend/internal/providerfake"
)

// personal matches an email address or an E.164 phone number.
var personal = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|\+[1-9][0-9]{7,14}`)

// senderAddress and twilioFrom, the configured EMAIL_FROM address and
// TWILIO_FROM number, are configuration, not personal data.
const senderAddress = "orders@example.com"

// scanForLeaks looks for the configured secrets everywhere the server
// writes (its logs, every table and what the fakes received, except the
// Authorization they must get), and for email addresses and phone numbers
// outside the tables that need them (users, deliveries, events): in the
// logs, River's job args and errors, the analytics rows and what Mixpanel
// received.
func scanForLeaks(t *testing.T, c *cluster, mp *providerfake.Mixpanel, fakes ...provider) string {
	t.Helper()
	secrets := []string{eventKey, apiKey, resendKey, mixpanelTok, adminPass, twilioToken, oneSignalKey, typesenseKey}
	places := map[string]string{"server logs": c.logs.String()}
	for _, q := range []struct{ name, sql string }{
		{"river_job.args", "SELECT coalesce(string_agg(args::text, E'\\n'), '') FROM river_job"},
		{"river_job.errors", "SELECT coalesce(string_agg(errors::text, E'\\n'), '') FROM river_job"},
		{"analytics_events", "SELECT coalesce(string_agg(to_jsonb(a)::text, E'\\n'), '') FROM analytics_events a"},
		{"app_logs", "SELECT coalesce(string_agg(to_jsonb(l)::text, E'\\n'), '') FROM app_logs l"},
	} {
		var s string
		if err := c.pool.QueryRow(t.Context(), q.sql).Scan(&s); err != nil {
			t.Fatalf("scan %s: %v", q.name, err)
		}
		places[q.name] = s
	}
	if mp != nil {
		places["Mixpanel requests"] = mp.Bodies()
	}
	// Secrets must not be anywhere, the tables that hold personal data
	// and the messages sent included.
	withSecrets := map[string]string{}
	for k, v := range places {
		withSecrets[k] = v
	}
	for _, table := range []string{"users", "deliveries", "events"} {
		var s string
		if err := c.pool.QueryRow(t.Context(), fmt.Sprintf("SELECT coalesce(string_agg(to_jsonb(x)::text, E'\\n'), '') FROM %s x", table)).Scan(&s); err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		withSecrets[table] = s
	}
	for _, f := range fakes {
		withSecrets[f.Name()+" requests"] = f.Bodies()
	}
	for where, text := range withSecrets {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("secret %.6s… found in %s", s, where)
			}
		}
	}
	for where, text := range places {
		for _, m := range personal.FindAllString(text, -1) {
			if m != senderAddress && m != twilioFrom {
				t.Errorf("personal data %q found in %s", m, where)
				break
			}
		}
	}
	scanned := 0 // places are in withSecrets too
	for _, text := range withSecrets {
		scanned += len(text)
	}
	return fmt.Sprintf("%d secrets looked for in %d places, personal data in %d; %d KiB scanned", len(secrets), len(withSecrets), len(places), scanned/1024)
}
