package jobs_test

import (
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
)

// TestEmailHTMLRecorded: the deliveries row of an email holds the HTML body
// the recipient got, byte for byte, next to the text body, so the
// development mailbox can show the email as it was received.
func TestEmailHTMLRecorded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupTx(t)
	fake, mailer := resendMailer(t)
	w := testWorker[jobargs.SendWelcomeEmailArgs](t, b.tx, jobs.Deps{Mailer: mailer})

	_, err := b.mart.CreateUser(ctx, mart.CreateUserParams{Email: "asha@example.com", Name: "Asha"})
	require.NoError(t, err)
	res, err := w.WorkJob(ctx, t, b.tx, pendingJob[jobargs.SendWelcomeEmailArgs](t, b))
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)

	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	var html, text string
	require.NoError(t, b.tx.QueryRow(ctx, `SELECT html, body FROM deliveries WHERE recipient = 'asha@example.com'`).Scan(&html, &text))
	require.Equal(t, reqs[0].Body.HTML, html)
	require.Equal(t, reqs[0].Body.Text, text)
	contains(t, html, "<h1>Welcome to MohallaMart, Asha!</h1>")
}
