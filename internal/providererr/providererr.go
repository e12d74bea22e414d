// Package providererr classifies the error answers of outside services
// (Resend, Twilio, OneSignal, Mixpanel, ...) the same way for every one of
// them: a rate limit (retry after the provider's Retry-After, without using
// up an attempt), a permanent rejection (retrying cannot help: cancel), or a
// temporary failure (retry with backoff). The workers in package jobs map
// these to River's snooze, cancel and retry.
//
// Providers often echo the recipient in their messages; every error built
// here redacts email addresses and phone numbers from its text (package
// internal/redact), because that text ends up in river_job.errors, River UI,
// GET /v1/events/{id}, alert emails and logs.
package providererr

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mohallamart/backend/internal/redact"
)

// PermanentError is a provider's refusal of a request that a retry would
// get again (an invalid address, a malformed request, an invalid property).
type PermanentError struct {
	// Provider names the service.
	Provider string
	// StatusCode is the HTTP status the provider answered with.
	StatusCode int
	// Message is the provider's own explanation, as it sent it; Error
	// redacts addresses and phone numbers from it.
	Message string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("%s rejected the message (HTTP %d): %s", e.Provider, e.StatusCode, redact.String(e.Message))
}

// RateLimitError says the provider is rate limiting us.
type RateLimitError struct {
	// Provider names the service.
	Provider string
	// RetryAfter is how long the provider asked us to wait; 0 if it did not
	// say.
	RetryAfter time.Duration
	// Message is the provider's own explanation, as it sent it; Error
	// redacts addresses and phone numbers from it.
	Message string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s rate limited the request (retry after %s): %s", e.Provider, e.RetryAfter, redact.String(e.Message))
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

// FromStatus turns a provider's HTTP error answer into a
// *RateLimitError (429), a *PermanentError (IsPermanentStatus) or a plain
// temporary error. The error's text has message's addresses and phone
// numbers redacted.
func FromStatus(provider string, code int, retryAfter time.Duration, message string) error {
	switch {
	case code == http.StatusTooManyRequests:
		return &RateLimitError{Provider: provider, RetryAfter: retryAfter, Message: message}
	case IsPermanentStatus(code):
		return &PermanentError{Provider: provider, StatusCode: code, Message: message}
	}
	return fmt.Errorf("%s answered HTTP %d: %s", provider, code, redact.String(message))
}

// IsPermanent reports whether err is (or wraps) a *PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
