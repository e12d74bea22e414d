package providerfake_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/providererr"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/notify"
	"github.com/mohallamart/backend/notify/onesignal"
	"github.com/mohallamart/backend/notify/twilio"
)

// The fakes speak the wire format of the clients the server uses: each is
// driven through the real client (package bench and the jobs tests drive
// Resend, Typesense and Mixpanel).

// TestTwilioWithClient: a rejection is Twilio's permanent 400 naming the
// number; a lost answer still delivers; Twilio has no idempotency, so a
// message sent again is delivered twice.
func TestTwilioWithClient(t *testing.T) {
	t.Parallel()
	fake := providerfake.NewTwilio(providerfake.Options{Record: true,
		Script: providerfake.Sequence(providerfake.Reject, providerfake.OK, providerfake.Lost)})
	t.Cleanup(fake.Close)
	sms, err := twilio.New(twilio.Opts{AccountSID: providerfake.DefaultTwilioSID, AuthToken: providerfake.DefaultTwilioToken,
		From: providerfake.DefaultTwilioFrom, BaseURL: fake.URL, Timeout: 5 * time.Second})
	require.NoError(t, err)
	msg := notify.SMS{To: "+919800000001", Body: "Your OTP is 4321", IdempotencyKey: "k1"}

	_, err = sms.SendSMS(t.Context(), msg)
	require.ErrorContains(t, err, "twilio rejected the message (HTTP 400): The 'To' number [phone] is not a valid phone number. (code 21211)")
	got, err := sms.SendSMS(t.Context(), msg)
	require.NoError(t, err)
	_, err = sms.SendSMS(t.Context(), msg)
	require.Error(t, err, "the answer was lost")

	reqs := fake.Requests()
	require.Len(t, reqs, 3)
	require.Equal(t, reqs[1].ID, got.MessageID)
	require.Equal(t, "Your OTP is 4321", reqs[0].Label)
	c := fake.Counts()
	require.Equal(t, providerfake.Counts{Requests: 3, Keys: 1, Delivered: 1, Twice: 1, MaxPerKey: 3}, c)
}

// TestOneSignalWithClient: a 429 carries Retry-After; OneSignal remembers
// an idempotency key, so the same notification again is its first answer
// and no second delivery.
func TestOneSignalWithClient(t *testing.T) {
	t.Parallel()
	fake := providerfake.NewOneSignal(providerfake.Options{Script: providerfake.Sequence(providerfake.TooMany), RetryAfter: 3 * time.Second})
	t.Cleanup(fake.Close)
	push, err := onesignal.New(onesignal.Opts{AppID: providerfake.DefaultOneSignalApp, APIKey: providerfake.DefaultOneSignalKey, BaseURL: fake.URL})
	require.NoError(t, err)
	msg := notify.Push{UserID: "u1", Title: "Sale!", Body: "50% off", IdempotencyKey: "k1"}

	_, err = push.SendPush(t.Context(), msg)
	var limited *providererr.RateLimitError
	require.ErrorAs(t, err, &limited)
	require.Equal(t, 3*time.Second, limited.RetryAfter)
	first, err := push.SendPush(t.Context(), msg)
	require.NoError(t, err)
	again, err := push.SendPush(t.Context(), msg)
	require.NoError(t, err)
	require.Equal(t, first.MessageID, again.MessageID)
	require.Equal(t, providerfake.Counts{Requests: 3, Keys: 1, Delivered: 1, MaxPerKey: 3}, fake.Counts())

	wrong, err := onesignal.New(onesignal.Opts{AppID: providerfake.DefaultOneSignalApp, APIKey: "other", BaseURL: fake.URL})
	require.NoError(t, err)
	_, err = wrong.SendPush(t.Context(), msg)
	require.Error(t, err)
}
