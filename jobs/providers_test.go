package jobs_test

import (
	"encoding/base64"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/internal/providerfake"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/notify/onesignal"
	"github.com/mohallamart/backend/notify/twilio"
)

// The fakes of the tests that write the provider's answers themselves:
// each records its requests and answers them with replies in turn (the
// last repeating), with the credentials of the clients the tests build.

func fakeTwilio(t *testing.T, replies ...providerfake.Reply) *providerfake.Twilio {
	return closed(t, providerfake.NewTwilio(providerfake.Options{Account: "AC123", Key: "token123", From: "+15005550006", Replies: replies, Record: true}))
}

func fakeOneSignal(t *testing.T, replies ...providerfake.Reply) *providerfake.OneSignal {
	return closed(t, providerfake.NewOneSignal(providerfake.Options{Account: "app-1", Key: "os_key", Replies: replies, Record: true}))
}

func fakeResendReplies(t *testing.T, replies ...providerfake.Reply) *providerfake.Resend {
	return closed(t, providerfake.NewResend(providerfake.Options{Key: "re_test", Replies: replies, Record: true}))
}

func fakeMixpanel(t *testing.T, replies ...providerfake.Reply) *providerfake.Mixpanel {
	return closed(t, providerfake.NewMixpanel(providerfake.Options{Key: "mp_token", Replies: replies, Record: true}))
}

// TestSendNotificationSMSTwilio: Twilio rejecting the number cancels the
// run with Twilio's message; a valid number is texted as Twilio's API
// expects and recorded with the message's SID.
func TestSendNotificationSMSTwilio(t *testing.T) {
	t.Parallel()
	fake := fakeTwilio(t,
		providerfake.Reply{Status: 400, Body: `{"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`},
		providerfake.Reply{Status: 201, Body: `{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": "+919876543211", "from": "+15005550006", "body": "Your OTP is 4321"}`},
	)
	sms, err := twilio.New(twilio.Opts{AccountSID: "AC123", AuthToken: "token123", From: "+15005550006", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setupTx(t, jobs.Deps{SMS: sms})

	res := b.run(t, "send-notification", event(t, events.NotificationSend{Channel: "sms", To: "+1555", Message: "Your OTP is 4321"}))
	requireState(t, res, rivertype.JobStateCancelled)
	require.Contains(t, res.Job.Errors[0].Error, "twilio rejected the message (HTTP 400): The 'To' number +1555 is not a valid phone number. (code 21211)")

	ev := event(t, events.NotificationSend{Channel: "sms", To: "+919876543211", Message: "Your OTP is 4321"})
	res = b.run(t, "send-notification", ev)
	requireState(t, res, rivertype.JobStateCompleted)
	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "POST", reqs[1].Method)
	require.Equal(t, "/2010-04-01/Accounts/AC123/Messages.json", reqs[1].Path)
	form, err := url.ParseQuery(string(reqs[1].Body))
	require.NoError(t, err)
	require.Equal(t, "+919876543211", form.Get("To"))
	require.Equal(t, "+15005550006", form.Get("From"))
	require.Equal(t, "Your OTP is 4321", form.Get("Body"))
	require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("AC123:token123")), reqs[1].Header.Get("Authorization"))
	d := deliveriesTo(t, b.tx, "+919876543211")
	require.Len(t, d, 1)
	require.Equal(t, delivery{Channel: "sms", Recipient: "+919876543211", Body: "Your OTP is 4321", Provider: "twilio",
		ProviderMessageID: "SM0123456789abcdef0123456789abcdef", Status: "sent",
		Key: jobs.IdempotencyKey(ev.ID, "send_notification", "+919876543211")}, d[0])
}

// TestSendNotificationPushOneSignal: a 429 from OneSignal snoozes the run
// for its Retry-After; the next run sends OneSignal's notification body
// with the same idempotency key and records OneSignal's id.
func TestSendNotificationPushOneSignal(t *testing.T) {
	t.Parallel()
	pushUser := uuid.NewString() // OneSignal's external id for the user
	fake := fakeOneSignal(t,
		providerfake.Reply{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"errors": ["API rate limit exceeded"]}`},
		providerfake.Reply{Status: 200, Body: `{"id": "b98881cc-1e94-4366-bbd9-db8f3429292b", "external_id": null}`},
	)
	push, err := onesignal.New(onesignal.Opts{AppID: "app-1", APIKey: "os_key", BaseURL: fake.URL})
	require.NoError(t, err)
	b := setupTx(t, jobs.Deps{Push: push})

	ev := event(t, events.NotificationSend{Channel: "push", UserID: pushUser, Subject: "Sale!", Message: "50% off sweets"})
	before := time.Now()
	res := b.run(t, "send-notification", ev)
	requireSnoozed(t, res, before, time.Now(), time.Second)

	res = b.work(t, "send-notification", res.Job.ID)
	requireState(t, res, rivertype.JobStateCompleted)
	require.Equal(t, 1, res.Job.Attempt)
	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "/notifications", reqs[1].Path)
	require.Equal(t, "c=push", reqs[1].Query)
	require.Equal(t, "Key os_key", reqs[1].Header.Get("Authorization"))
	key := jobs.IdempotencyKey(ev.ID, "send_notification", pushUser)
	require.JSONEq(t, `{
		"app_id": "app-1",
		"include_aliases": {"external_id": ["`+pushUser+`"]},
		"target_channel": "push",
		"headings": {"en": "Sale!"},
		"contents": {"en": "50% off sweets"},
		"idempotency_key": "`+onesignal.IdempotencyKey(key)+`"
	}`, string(reqs[1].Body))
	require.Equal(t, reqs[0].Body, reqs[1].Body, "the retry sends the same idempotency key")
	d := deliveriesTo(t, b.tx, pushUser)
	require.Len(t, d, 1)
	require.Equal(t, "b98881cc-1e94-4366-bbd9-db8f3429292b", d[0].ProviderMessageID)
}
