// Package twilio sends MohallaMart's text messages through Twilio's
// Messages API with the twilio-go SDK; it implements notify.SMSSender.
//
// Twilio's Messages API has no idempotency key: only our deliveries ledger
// keeps a retried job from sending twice. twilio-go has no base-URL option
// and no context support, so requests go through an http.Client whose
// transport rewrites the host (Opts.BaseURL) and whose Timeout bounds them.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	twiliosdk "github.com/twilio/twilio-go"
	twilioclient "github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/mohallamart/backend/internal/providererr"
	"github.com/mohallamart/backend/notify"
)

// Provider is the provider name recorded in deliveries.
const Provider = "twilio"

// Opts configure a Sender.
type Opts struct {
	// AccountSID and AuthToken are the account's credentials. Required.
	AccountSID string
	AuthToken  string
	// From is the sending number or messaging service. Required.
	From string
	// BaseURL overrides https://api.twilio.com (tests, staging).
	BaseURL string
	// Timeout bounds one request; default 30s.
	Timeout time.Duration
}

// Sender sends SMS with Twilio.
type Sender struct {
	rest *twiliosdk.RestClient
	from string
}

// New returns a Sender. It fails if an option is missing or BaseURL is not a
// URL.
func New(opts Opts) (*Sender, error) {
	if opts.AccountSID == "" || opts.AuthToken == "" || opts.From == "" {
		return nil, errors.New("twilio: AccountSID, AuthToken and From are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	transport := http.DefaultTransport
	if opts.BaseURL != "" {
		base, err := url.Parse(opts.BaseURL)
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("twilio: base URL %q is not an absolute URL", opts.BaseURL)
		}
		transport = rewriteHost{base: base, next: transport}
	}
	c := &twilioclient.Client{
		Credentials: twilioclient.NewCredentials(opts.AccountSID, opts.AuthToken),
		HTTPClient: &http.Client{
			Timeout:   opts.Timeout,
			Transport: transport,
			// As twilio-go's default client: answer 3xx as they are.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(opts.AccountSID)
	return &Sender{rest: twiliosdk.NewRestClientWithParams(twiliosdk.ClientParams{Client: c}), from: opts.From}, nil
}

// SendSMS sends msg. Twilio's 429 is a *providererr.RateLimitError; a 4xx that a
// retry cannot fix (an invalid number: 400 with code 21211) is a
// *providererr.PermanentError with Twilio's message; anything else is temporary.
//
// twilio-go takes no context, so ctx cannot cancel a request in flight;
// Opts.Timeout bounds it instead.
func (s *Sender) SendSMS(ctx context.Context, msg notify.SMS) (notify.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return notify.Receipt{}, fmt.Errorf("twilio: send sms: %w", err)
	}
	params := &twilioapi.CreateMessageParams{}
	params.SetTo(msg.To).SetFrom(s.from).SetBody(msg.Body)
	m, err := s.rest.Api.CreateMessage(params)
	if err != nil {
		var te *twilioclient.TwilioRestError
		if errors.As(err, &te) {
			return notify.Receipt{}, providererr.FromStatus(Provider, te.Status, 0, fmt.Sprintf("%s (code %d)", te.Message, te.Code))
		}
		return notify.Receipt{}, fmt.Errorf("twilio: send sms: %w", err)
	}
	id := ""
	if m.Sid != nil {
		id = *m.Sid
	}
	return notify.Receipt{Provider: Provider, MessageID: id, Status: notify.StatusSent}, nil
}

// rewriteHost sends every request to base's scheme and host, keeping the
// path (Twilio's SDK builds absolute https://api.twilio.com URLs).
type rewriteHost struct {
	base *url.URL
	next http.RoundTripper
}

func (t rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = t.base.Scheme
	r.URL.Host = t.base.Host
	r.URL.Path = t.base.Path + req.URL.Path
	r.Host = t.base.Host
	return t.next.RoundTrip(r)
}
