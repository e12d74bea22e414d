package providerfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Default credentials of the fakes; they are not secrets.
const (
	DefaultResendKey    = "re_fake_key"
	DefaultEmailFrom    = "MohallaMart <orders@example.com>"
	DefaultTwilioSID    = "AC0fake000000000000000000000000001"
	DefaultTwilioToken  = "twFakeToken0" // twilio-go allows letters and digits only
	DefaultTwilioFrom   = "+15005550006"
	DefaultOneSignalApp = "fake-onesignal-app"
	DefaultOneSignalKey = "os_fake_key"
)

// Resend is a fake Resend: POST /emails with the API key as Bearer token,
// the Idempotency-Key header (a key delivered before gets its first answer
// again), JSON in ({"from", "to", "subject", "html", "text"}) and out
// ({"id"}; errors {"statusCode", "message", "name"}). Its label is the
// first recipient.
type Resend struct {
	*Fake
}

// NewResend starts a fake Resend; Close stops it.
func NewResend(o Options) *Resend {
	o.Key, o.From = or(o.Key, DefaultResendKey), or(o.From, DefaultEmailFrom)
	return &Resend{start("Resend", resendWire{key: o.Key}, true, o)}
}

// Env points the server at the fake.
func (f *Resend) Env() []string {
	return []string{"RESEND_API_KEY=" + f.opts.Key, "RESEND_BASE_URL=" + f.URL, "EMAIL_FROM=" + f.opts.From}
}

// Email is an email the fake Resend received.
type Email struct {
	Key     string    `json:"-"` // Idempotency-Key
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	HTML    string    `json:"html"`
	Text    string    `json:"text"`
	At      time.Time `json:"-"`
}

// Emails returns the emails recorded so far (Options.Record), one a
// request.
func (f *Resend) Emails() []Email {
	reqs := f.Requests()
	out := make([]Email, len(reqs))
	for i, r := range reqs {
		_ = json.Unmarshal(r.Body, &out[i])
		out[i].Key, out[i].At = r.Key, r.At
	}
	return out
}

type resendWire struct{ key string }

func (rw resendWire) read(w http.ResponseWriter, r *http.Request, body []byte) (call, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/emails" {
		replyJSON(w, http.StatusNotFound, map[string]any{"statusCode": 404, "name": "not_found", "message": "The requested endpoint does not exist."})
		return call{}, true
	}
	if r.Header.Get("Authorization") != "Bearer "+rw.key {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "name": "missing_api_key", "message": "Missing API key in the authorization header."})
		return call{}, true
	}
	var email struct {
		From    string   `json:"from"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
	}
	if err := json.Unmarshal(body, &email); err != nil || email.From == "" || len(email.To) == 0 || email.Subject == "" {
		replyJSON(w, http.StatusUnprocessableEntity, map[string]any{"statusCode": 422, "name": "validation_error", "message": "The `from`, `to` and `subject` fields are required."})
		return call{}, true
	}
	return call{key: r.Header.Get("Idempotency-Key"), label: email.To[0]}, false
}

func (resendWire) accept(call, string, []byte) {}

func (resendWire) delivered(w http.ResponseWriter, _ call, id string, _ []byte) {
	replyJSON(w, http.StatusOK, map[string]string{"id": id})
}

func (resendWire) failed(w http.ResponseWriter, a Answer, _ call, after time.Duration) {
	switch a {
	case TooMany:
		s := retryAfter(w, after)
		w.Header().Set("ratelimit-limit", "2")
		w.Header().Set("ratelimit-remaining", "0")
		w.Header().Set("ratelimit-reset", s)
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"statusCode": 429, "name": "rate_limit_exceeded",
			"message": "Too many requests. You can only make 2 requests per second."})
	case Reject:
		replyJSON(w, http.StatusUnprocessableEntity, map[string]any{"statusCode": 422, "name": "validation_error",
			"message": "Invalid `to` field. The email address needs to follow the `email@example.com` format."})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"statusCode": 500, "name": "internal_server_error", "message": "An unexpected error occurred."})
	}
}

func (resendWire) newID(n int) string { return fmt.Sprintf("email-%d", n) }

// Twilio is a fake Twilio Messages API: POST
// /2010-04-01/Accounts/{sid}/Messages.json with the account's basic auth
// and a form (To, From, Body), answering 201 with the message's SID.
// Twilio has no idempotency key: the fake counts by recipient and body,
// and delivers every request its script lets through. Its label is the
// SMS body.
type Twilio struct {
	*Fake
}

// NewTwilio starts a fake Twilio; Close stops it.
func NewTwilio(o Options) *Twilio {
	o.Account, o.Key, o.From = or(o.Account, DefaultTwilioSID), or(o.Key, DefaultTwilioToken), or(o.From, DefaultTwilioFrom)
	return &Twilio{start("Twilio", twilioWire{sid: o.Account, token: o.Key, from: o.From}, false, o)}
}

// Env points the server at the fake.
func (f *Twilio) Env() []string {
	return []string{"TWILIO_ACCOUNT_SID=" + f.opts.Account, "TWILIO_AUTH_TOKEN=" + f.opts.Key, "TWILIO_FROM=" + f.opts.From, "TWILIO_BASE_URL=" + f.URL}
}

type twilioWire struct{ sid, token, from string }

func (tw twilioWire) read(w http.ResponseWriter, r *http.Request, body []byte) (call, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+tw.sid+"/Messages.json" {
		replyJSON(w, http.StatusNotFound, map[string]any{"code": 20404, "message": "The requested resource was not found", "status": 404})
		return call{}, true
	}
	if sid, token, ok := r.BasicAuth(); !ok || sid != tw.sid || token != tw.token {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		return call{}, true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("To") == "" || form.Get("From") != tw.from || form.Get("Body") == "" {
		replyJSON(w, http.StatusBadRequest, map[string]any{"code": 21604, "message": "A 'To', 'From' and 'Body' are required.", "status": 400})
		return call{}, true
	}
	return call{key: form.Get("To") + "|" + form.Get("Body"), label: form.Get("Body")}, false
}

func (twilioWire) accept(call, string, []byte) {}

func (tw twilioWire) delivered(w http.ResponseWriter, _ call, id string, body []byte) {
	form, _ := url.ParseQuery(string(body))
	replyJSON(w, http.StatusCreated, map[string]any{"sid": id, "status": "queued", "to": form.Get("To"), "from": form.Get("From"),
		"body": form.Get("Body"), "account_sid": tw.sid, "num_segments": "1"})
}

func (twilioWire) failed(w http.ResponseWriter, a Answer, c call, _ time.Duration) {
	switch a {
	case TooMany: // Twilio sends no Retry-After
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"code": 20429, "message": "Too Many Requests", "status": 429})
	case Reject:
		to, _, _ := strings.Cut(c.key, "|")
		replyJSON(w, http.StatusBadRequest, map[string]any{"code": 21211, "message": "The 'To' number " + to + " is not a valid phone number.",
			"more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"code": 20500, "message": "An internal server error has occurred", "status": 500})
	}
}

func (twilioWire) newID(n int) string { return hexID("SM", n, 32) }

// OneSignal is a fake OneSignal: POST /notifications with "Key <REST API
// key>", JSON naming the app, the user by external_id (include_aliases),
// target_channel push, contents and an idempotency_key that OneSignal
// remembers (a repeated key gets the first answer). Its label is the
// external_id.
type OneSignal struct {
	*Fake
}

// NewOneSignal starts a fake OneSignal; Close stops it.
func NewOneSignal(o Options) *OneSignal {
	o.Account, o.Key = or(o.Account, DefaultOneSignalApp), or(o.Key, DefaultOneSignalKey)
	return &OneSignal{start("OneSignal", oneSignalWire{app: o.Account, key: o.Key}, true, o)}
}

// Env points the server at the fake.
func (f *OneSignal) Env() []string {
	return []string{"ONESIGNAL_APP_ID=" + f.opts.Account, "ONESIGNAL_API_KEY=" + f.opts.Key, "ONESIGNAL_BASE_URL=" + f.URL}
}

type oneSignalWire struct{ app, key string }

func (ow oneSignalWire) read(w http.ResponseWriter, r *http.Request, body []byte) (call, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/notifications" {
		replyJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"Not Found"}})
		return call{}, true
	}
	if r.Header.Get("Authorization") != "Key "+ow.key {
		replyJSON(w, http.StatusUnauthorized, map[string]any{"errors": []string{"Access denied. Please include an 'Authorization: Key' header with a valid REST API key."}})
		return call{}, true
	}
	var n struct {
		AppID          string              `json:"app_id"`
		IncludeAliases map[string][]string `json:"include_aliases"`
		TargetChannel  string              `json:"target_channel"`
		Contents       map[string]string   `json:"contents"`
		IdempotencyKey string              `json:"idempotency_key"`
	}
	if err := json.Unmarshal(body, &n); err != nil || n.AppID != ow.app || len(n.IncludeAliases["external_id"]) != 1 ||
		n.TargetChannel != "push" || n.Contents["en"] == "" {
		replyJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"app_id, include_aliases.external_id, target_channel and contents are required"}})
		return call{}, true
	}
	return call{key: n.IdempotencyKey, label: n.IncludeAliases["external_id"][0]}, false
}

func (oneSignalWire) accept(call, string, []byte) {}

func (oneSignalWire) delivered(w http.ResponseWriter, _ call, id string, _ []byte) {
	replyJSON(w, http.StatusOK, map[string]any{"id": id, "external_id": nil})
}

func (oneSignalWire) failed(w http.ResponseWriter, a Answer, _ call, after time.Duration) {
	switch a {
	case TooMany:
		retryAfter(w, after)
		replyJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []string{"API rate limit exceeded"}})
	case Reject:
		replyJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"All included players are not subscribed"}})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]any{"errors": []string{"Internal Server Error"}})
	}
}

func (oneSignalWire) newID(n int) string { return uuidID(n) }
