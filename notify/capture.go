package notify

import "context"

// ProviderCapture is the provider name of captured messages.
const ProviderCapture = "capture"

// Capture is the default Mailer, SMSSender and Pusher when a channel has no
// provider configured: it sends nothing and reports the message captured, so
// the caller records it in deliveries with status "captured" (operators and
// tests read it there).
type Capture struct{}

// SendEmail captures msg.
func (Capture) SendEmail(context.Context, Email) (Receipt, error) { return captured(), nil }

// SendSMS captures msg.
func (Capture) SendSMS(context.Context, SMS) (Receipt, error) { return captured(), nil }

// SendPush captures msg.
func (Capture) SendPush(context.Context, Push) (Receipt, error) { return captured(), nil }

func captured() Receipt { return Receipt{Provider: ProviderCapture, Status: StatusCaptured} }
