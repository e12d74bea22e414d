// Package resend sends MohallaMart's email through Resend
// (https://resend.com) with the resend-go SDK; it implements notify.Mailer.
//
// Every send carries the message's idempotency key as Resend's
// Idempotency-Key header, so a retry after a crash between Resend's answer
// and our commit is not delivered twice (Resend remembers keys for 24 hours).
package resend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	resendsdk "github.com/resend/resend-go/v2"

	"github.com/mohallamart/backend/internal/providererr"
	"github.com/mohallamart/backend/notify"
)

// Provider is the provider name recorded in deliveries.
const Provider = "resend"

// Opts configure a Mailer.
type Opts struct {
	// APIKey is the Resend API key. Required.
	APIKey string
	// From is the sender, such as "MohallaMart <orders@example.com>".
	// Required.
	From string
	// BaseURL overrides https://api.resend.com/ (tests, staging).
	BaseURL string
	// Timeout bounds one request; default 30s.
	Timeout time.Duration
}

// Mailer sends email with Resend.
type Mailer struct {
	client *resendsdk.Client
	from   string
}

// New returns a Mailer. It fails if an option is missing or BaseURL is not a
// URL.
func New(opts Opts) (*Mailer, error) {
	if opts.APIKey == "" || opts.From == "" {
		return nil, errors.New("resend: APIKey and From are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	httpClient := &http.Client{Timeout: opts.Timeout, Transport: statusTransport{http.DefaultTransport}}
	client := resendsdk.NewCustomClient(httpClient, opts.APIKey)
	if opts.BaseURL != "" {
		base := opts.BaseURL
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("resend: base URL: %w", err)
		}
		client.BaseURL = u
	}
	return &Mailer{client: client, from: opts.From}, nil
}

// SendEmail sends msg. A 429 is a *providererr.RateLimitError with Resend's
// Retry-After; a 4xx that a retry cannot fix is a *providererr.PermanentError
// with Resend's message; anything else (5xx, network) is temporary.
func (m *Mailer) SendEmail(ctx context.Context, msg notify.Email) (notify.Receipt, error) {
	var status int
	ctx = context.WithValue(ctx, statusKey{}, &status)
	resp, err := m.client.Emails.SendWithOptions(ctx, &resendsdk.SendEmailRequest{
		From: m.from, To: []string{msg.To}, Subject: msg.Subject, Html: msg.HTML, Text: msg.Text,
	}, &resendsdk.SendEmailOptions{IdempotencyKey: msg.IdempotencyKey})
	if err != nil {
		var rl *resendsdk.RateLimitError
		if errors.As(err, &rl) {
			return notify.Receipt{}, &providererr.RateLimitError{
				Provider: Provider, RetryAfter: providererr.ParseRetryAfter(rl.RetryAfter, time.Now()), Message: rl.Message,
			}
		}
		if status != 0 {
			// resend-go reports API errors as "[ERROR]: <message>".
			return notify.Receipt{}, providererr.FromStatus(Provider, status, 0, strings.TrimPrefix(err.Error(), "[ERROR]: "))
		}
		return notify.Receipt{}, fmt.Errorf("resend: send email: %w", err)
	}
	return notify.Receipt{Provider: Provider, MessageID: resp.Id, Status: notify.StatusSent}, nil
}

// statusKey carries, in a request's context, where statusTransport writes
// the HTTP status of the answer (resend-go's errors do not say it).
type statusKey struct{}

type statusTransport struct{ next http.RoundTripper }

func (t statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if p, ok := req.Context().Value(statusKey{}).(*int); ok && resp != nil {
		*p = resp.StatusCode
	}
	return resp, err
}
