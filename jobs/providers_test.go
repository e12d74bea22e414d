package jobs_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/notify/onesignal"
	"github.com/mohallamart/backend/notify/twilio"
)

// recorder is an httptest server that records requests and answers each
// with the next of its scripted (status, headers, body) answers, the last
// one repeating.
type recorder struct {
	*httptest.Server

	mu       sync.Mutex
	answers  []answer
	requests []recorded
}

type answer struct {
	status int
	header map[string]string
	body   string
}

type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
	At                  time.Time
}

func newRecorder(t *testing.T, answers ...answer) *recorder {
	r := &recorder{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), body, time.Now()})
		a := r.answers[0]
		if len(r.answers) > 1 {
			r.answers = r.answers[1:]
		}
		r.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) Requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.requests...)
}

// TestSendNotificationSMSTwilio: Twilio rejecting the number cancels the
// run with Twilio's message; a valid number is texted as Twilio's API
// expects and recorded with the message's SID.
func TestSendNotificationSMSTwilio(t *testing.T) {
	t.Parallel()
	fake := newRecorder(t,
		answer{400, nil, `{"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`},
		answer{201, nil, `{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": "+919876543211", "from": "+15005550006", "body": "Your OTP is 4321"}`},
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
	fake := newRecorder(t,
		answer{429, map[string]string{"Retry-After": "1"}, `{"errors": ["API rate limit exceeded"]}`},
		answer{200, nil, `{"id": "b98881cc-1e94-4366-bbd9-db8f3429292b", "external_id": null}`},
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
