// Package onesignal sends MohallaMart's push notifications through
// OneSignal's REST API (POST /notifications); it implements notify.Pusher.
//
// Users are targeted by their external_id, which is our user id. Every send
// carries idempotency_key, a UUIDv5 of our idempotency key (OneSignal wants a
// UUID and remembers it for 30 days), so a retried job is not pushed twice.
package onesignal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mohallamart/backend/internal/providererr"
	"github.com/mohallamart/backend/notify"
)

// Provider is the provider name recorded in deliveries.
const Provider = "onesignal"

// idempotencyNamespace is the UUIDv5 namespace of our idempotency keys.
var idempotencyNamespace = uuid.MustParse("5b0f2f7e-8d0c-4c7e-9a51-6d4c1f1d2a33") //nolint:gochecknoglobals // a constant UUID

// Opts configure a Pusher.
type Opts struct {
	// AppID and APIKey are the OneSignal app's id and REST API key.
	// Required.
	AppID  string
	APIKey string
	// BaseURL overrides https://api.onesignal.com (tests, staging).
	BaseURL string
	// Timeout bounds one request; default 30s.
	Timeout time.Duration
}

// Pusher sends push notifications with OneSignal.
type Pusher struct {
	opts   Opts
	client *http.Client
}

// New returns a Pusher. It fails if an option is missing.
func New(opts Opts) (*Pusher, error) {
	if opts.AppID == "" || opts.APIKey == "" {
		return nil, errors.New("onesignal: AppID and APIKey are required")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = "https://api.onesignal.com"
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	return &Pusher{opts: opts, client: &http.Client{Timeout: opts.Timeout}}, nil
}

// IdempotencyKey returns the UUID sent to OneSignal for our key.
func IdempotencyKey(key string) string {
	return uuid.NewSHA1(idempotencyNamespace, []byte(key)).String()
}

type notification struct {
	AppID          string              `json:"app_id"`
	IncludeAliases map[string][]string `json:"include_aliases"`
	TargetChannel  string              `json:"target_channel"`
	Headings       map[string]string   `json:"headings,omitempty"`
	Contents       map[string]string   `json:"contents"`
	IdempotencyKey string              `json:"idempotency_key"`
}

type response struct {
	ID     string          `json:"id"`
	Errors json.RawMessage `json:"errors"`
}

// SendPush sends msg to the devices of the user whose external_id is
// msg.UserID. A 429 is a *providererr.RateLimitError with OneSignal's
// Retry-After; a 4xx that a retry cannot fix, or a 200 that created no
// notification (no subscribed device, unknown external id), is a
// *providererr.PermanentError with OneSignal's errors; anything else is
// temporary.
func (p *Pusher) SendPush(ctx context.Context, msg notify.Push) (notify.Receipt, error) {
	body := notification{
		AppID:          p.opts.AppID,
		IncludeAliases: map[string][]string{"external_id": {msg.UserID}},
		TargetChannel:  "push",
		Contents:       map[string]string{"en": msg.Body},
		IdempotencyKey: IdempotencyKey(msg.IdempotencyKey),
	}
	if msg.Title != "" {
		body.Headings = map[string]string{"en": msg.Title}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("onesignal: encode notification: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.opts.BaseURL+"/notifications?c=push", bytes.NewReader(b))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("onesignal: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Key "+p.opts.APIKey)
	resp, err := p.client.Do(req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("onesignal: send push: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("onesignal: read answer: %w", err)
	}
	var out response
	_ = json.Unmarshal(raw, &out) // an unreadable body is reported below by status or missing id
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		message := strings.TrimSpace(string(out.Errors))
		if message == "" || message == "null" {
			message = strings.TrimSpace(string(raw))
		}
		retryAfter := providererr.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return notify.Receipt{}, providererr.FromStatus(Provider, resp.StatusCode, retryAfter, message)
	}
	if out.ID == "" {
		return notify.Receipt{}, &providererr.PermanentError{Provider: Provider, StatusCode: resp.StatusCode, Message: "no notification created: " + string(out.Errors)}
	}
	return notify.Receipt{Provider: Provider, MessageID: out.ID, Status: notify.StatusSent}, nil
}
