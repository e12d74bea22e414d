package redact_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/redact"
)

func TestString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"send email to asha@example.com: refused", "send email to [email]: refused"},
		{"send_welcome_email/01J9Z/Ravi.K+shop@mail.example.co.in", "send_welcome_email/01J9Z/[email]"},
		{"`to`: \"x_y-z@sub.example.org\" is invalid", "`to`: \"[email]\" is invalid"},
		{"अनु@उदाहरण.भारत bounced", "[email] bounced"},
		{"The 'To' number +919876543210 is not a valid phone number. (code 21211)", "The 'To' number [phone] is not a valid phone number. (code 21211)"},
		{"to +91 98765 43210 and +1 (555) 010-4477", "to [phone] and [phone]"},
		{"numbers 9876543210,9123456780 failed", "numbers [phone],[phone] failed"},
		{"phone=9876543210", "phone=[phone]"},
		// Not personal data: kept as it is.
		{"The 'To' number +1555 is not a valid phone number.", "The 'To' number +1555 is not a valid phone number."},
		{"user 6f1c2a7e-1b7e-4c1e-9d2a-123456789012 not found", "user 6f1c2a7e-1b7e-4c1e-9d2a-123456789012 not found"},
		{"job 1234 attempt 2 of 25 at 2026-01-02T15:04:05Z", "job 1234 attempt 2 of 25 at 2026-01-02T15:04:05Z"},
		{"github.com/riverqueue/river@v0.51.2/job_executor.go:123 +0x1a4", "github.com/riverqueue/river@v0.51.2/job_executor.go:123 +0x1a4"},
		{"deleted-6f1c2a7e@invalid", "deleted-6f1c2a7e@invalid"},
		{"resend answered HTTP 500: An unexpected error occurred.", "resend answered HTTP 500: An unexpected error occurred."},
	} {
		got := redact.String(tt.in)
		require.Equal(t, tt.want, got, tt.in)
		require.Equal(t, got, redact.String(got), "idempotent")
	}
}

func TestErrorKeepsRiverOutcomes(t *testing.T) {
	t.Parallel()
	require.NoError(t, redact.Error(nil))

	cancel := redact.Error(fmt.Errorf("send_notification: %w", river.JobCancel(errors.New("twilio rejected +919876543210"))))
	require.Equal(t, "send_notification: JobCancelError: twilio rejected [phone]", cancel.Error())
	var ce *rivertype.JobCancelError
	require.ErrorAs(t, cancel, &ce)

	snooze := redact.Error(river.JobSnooze(0))
	var se *rivertype.JobSnoozeError
	require.ErrorAs(t, snooze, &se)

	sentinel := errors.New("a@example.com")
	require.ErrorIs(t, redact.Error(sentinel), sentinel)
	require.Equal(t, "[email]", redact.Error(sentinel).Error())
}
