// Package notify sends MohallaMart's messages: email (Mailer), SMS
// (SMSSender) and push (Pusher). Each outside service is a subpackage that
// implements one of these interfaces (notify/resend, notify/twilio,
// notify/onesignal); Capture is the default when a service has no
// credentials: it sends nothing, and the caller records the message in the
// deliveries table with status "captured".
//
// Senders report failures the caller can act on as *PermanentError (the
// provider rejected the message: retrying cannot help) and *RateLimitError
// (try again after RetryAfter); any other error is temporary.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Channels, as stored in deliveries.channel.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
)

// Delivery statuses, as stored in deliveries.status.
const (
	// StatusSent means a provider accepted the message.
	StatusSent = "sent"
	// StatusCaptured means the message was only recorded (no provider).
	StatusCaptured = "captured"
)

// Email is one email message.
type Email struct {
	// To is the recipient address.
	To string
	// Subject is the subject line.
	Subject string
	// HTML and Text are the two renderings of the body.
	HTML string
	Text string
	// IdempotencyKey identifies the message across retries; providers that
	// support it deduplicate sends with it.
	IdempotencyKey string
}

// SMS is one text message.
type SMS struct {
	// To is the recipient phone number (E.164).
	To string
	// Body is the message text.
	Body string
	// IdempotencyKey identifies the message across retries.
	IdempotencyKey string
}

// Push is one push notification to one user's devices.
type Push struct {
	// UserID is our user id, which the push provider knows as the user's
	// external id.
	UserID string
	// Title is the notification heading; Body its text.
	Title string
	Body  string
	// IdempotencyKey identifies the message across retries.
	IdempotencyKey string
}

// Receipt is what a sender reports about an accepted message.
type Receipt struct {
	// Provider names the service ("resend", "twilio", "onesignal",
	// "capture").
	Provider string
	// MessageID is the provider's id for the message, if any.
	MessageID string
	// Status is StatusSent or StatusCaptured.
	Status string
}

// Mailer sends email.
type Mailer interface {
	SendEmail(ctx context.Context, msg Email) (Receipt, error)
}

// SMSSender sends text messages.
type SMSSender interface {
	SendSMS(ctx context.Context, msg SMS) (Receipt, error)
}

// Pusher sends push notifications.
type Pusher interface {
	SendPush(ctx context.Context, msg Push) (Receipt, error)
}

// PermanentError is a provider's refusal of a message that a retry would
// get again (an invalid address, a malformed request).
type PermanentError struct {
	// Provider names the service.
	Provider string
	// StatusCode is the HTTP status the provider answered with.
	StatusCode int
	// Message is the provider's own explanation.
	Message string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("%s rejected the message (HTTP %d): %s", e.Provider, e.StatusCode, e.Message)
}

// RateLimitError says the provider is rate limiting us.
type RateLimitError struct {
	// Provider names the service.
	Provider string
	// RetryAfter is how long the provider asked us to wait; 0 if it did not
	// say.
	RetryAfter time.Duration
	// Message is the provider's own explanation.
	Message string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s rate limited the request (retry after %s): %s", e.Provider, e.RetryAfter, e.Message)
}

// IsPermanentStatus reports whether an HTTP error status from a provider
// means the request itself is wrong, so retrying cannot help. 401 and 403
// (credentials an operator can fix), 408, 409 (a concurrent request with the
// same idempotency key), 425 and 429 are temporary, as are all 5xx.
func IsPermanentStatus(code int) bool {
	if code < 400 || code >= 500 {
		return false
	}
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusConflict,
		http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return true
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP date (relative to now). It returns 0 if v is empty or invalid.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// ErrorFromStatus turns a provider's HTTP error answer into a
// *RateLimitError (429), a *PermanentError (IsPermanentStatus) or a plain
// temporary error.
func ErrorFromStatus(provider string, code int, retryAfter time.Duration, message string) error {
	switch {
	case code == http.StatusTooManyRequests:
		return &RateLimitError{Provider: provider, RetryAfter: retryAfter, Message: message}
	case IsPermanentStatus(code):
		return &PermanentError{Provider: provider, StatusCode: code, Message: message}
	}
	return fmt.Errorf("%s answered HTTP %d: %s", provider, code, message)
}

// IsPermanent reports whether err is (or wraps) a *PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
