package jobs_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
)

// TestEmailHTMLRecorded: the deliveries row of an email holds the HTML body
// the recipient got, byte for byte, next to the text body, so the
// development mailbox can show the email as it was received.
func TestEmailHTMLRecorded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake, mailer := resendMailer(t)
	b := setupTx(t, jobs.Deps{Mailer: mailer})
	to := "asha-" + uuid.NewString() + "@example.com"

	res := b.run(t, "send-welcome-email", event(t, events.UserCreated{UserID: uuid.NewString(), Email: to, Name: "Asha"}))
	requireState(t, res, rivertype.JobStateCompleted)

	reqs := fake.Emails()
	require.Len(t, reqs, 1)
	var html, text string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT html, body FROM deliveries WHERE recipient = $1`, to).Scan(&html, &text))
	require.Equal(t, reqs[0].HTML, html)
	require.Equal(t, reqs[0].Text, text)
	contains(t, html, "<h1>Welcome to MohallaMart, Asha!</h1>")
}
