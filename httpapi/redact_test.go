package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGetEventRedactsJobErrors: job errors that quote a recipient (written
// by a worker before errors were redacted, or by River itself) are shown
// by GET /v1/events/{id} with the address and phone number redacted.
func TestGetEventRedactsJobErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	r := b.do(t, "POST", "/v1/events", testKey, map[string]any{
		"name": "user/created", "id": "signup-pii",
		"data": map[string]any{"userId": "6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21", "email": "asha@example.com", "name": "Asha"},
	})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	_, err := b.pool.Exec(t.Context(), `UPDATE river_job SET errors = ARRAY[
		'{"at": "2026-01-02T03:04:05Z", "attempt": 1, "error": "send email to asha@example.com: Asha <asha@example.com> refused", "trace": ""}',
		'{"at": "2026-01-02T03:05:05Z", "attempt": 2, "error": "twilio rejected the message (HTTP 400): The ''To'' number +91 98765 43210 is not valid", "trace": ""}'
	]::jsonb[] WHERE args->>'event_id' = 'signup-pii'`)
	require.NoError(t, err)

	r = b.do(t, "GET", "/v1/events/signup-pii", apiKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	jobs := r.json(t)["jobs"].([]any)
	require.NotEmpty(t, jobs)
	for _, j := range jobs {
		errs := j.(map[string]any)["errors"].([]any)
		require.Len(t, errs, 2)
		first, second := errs[0].(map[string]any), errs[1].(map[string]any)
		require.Equal(t, "send email to [email]: Asha <[email]> refused", first["error"])
		require.Equal(t, "2026-01-02T03:04:05Z", first["at"])
		require.EqualValues(t, 1, first["attempt"])
		require.Equal(t, "twilio rejected the message (HTTP 400): The 'To' number [phone] is not valid", second["error"])
	}
	body := string(r.body)
	require.True(t, strings.Contains(body, `"email":"asha@example.com"`), "the event's own data is shown as sent")
	require.NotContains(t, strings.ReplaceAll(body, `"email":"asha@example.com"`, ""), "asha@example.com")
	require.NotContains(t, body, "98765")
}
