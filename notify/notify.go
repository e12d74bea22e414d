// Package notify sends MohallaMart's messages: email (Mailer), SMS
// (SMSSender) and push (Pusher). Each outside service is a subpackage that
// implements one of these interfaces (notify/resend, notify/twilio,
// notify/onesignal); Capture is the default when a service has no
// credentials: it sends nothing, and the caller records the message in the
// deliveries table with status "captured".
//
// Senders report failures the caller can act on as
// *providererr.PermanentError (the provider rejected the message: retrying
// cannot help) and *providererr.RateLimitError (try again after RetryAfter);
// any other error is temporary.
package notify

import (
	"context"
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
