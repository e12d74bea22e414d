// Package mixpanel sends MohallaMart's analytics events to Mixpanel's
// Import API (POST /import?strict=1, project token as the basic-auth user);
// it implements analytics.Sink.
//
// Every event's $insert_id is a UUIDv5 of its (event id, name), which
// Mixpanel uses to deduplicate, so a retried job does not count an event
// twice.
package mixpanel

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

	"github.com/mohallamart/backend/analytics"
	"github.com/mohallamart/backend/internal/providererr"
)

// insertIDNamespace is the UUIDv5 namespace of $insert_id values.
var insertIDNamespace = uuid.MustParse("0a3f6a52-1f7e-4d55-9f0e-7c2b8d9e4b61") //nolint:gochecknoglobals // a constant UUID

// Opts configure a Sink.
type Opts struct {
	// Token is the Mixpanel project token. Required.
	Token string
	// BaseURL overrides https://api.mixpanel.com (tests, EU residency:
	// https://api-eu.mixpanel.com).
	BaseURL string
	// Timeout bounds one request; default 30s.
	Timeout time.Duration
}

// Sink sends events to Mixpanel.
type Sink struct {
	opts   Opts
	client *http.Client
}

// New returns a Sink. It fails if Token is missing.
func New(opts Opts) (*Sink, error) {
	if opts.Token == "" {
		return nil, errors.New("mixpanel: Token is required")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = "https://api.mixpanel.com"
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	return &Sink{opts: opts, client: &http.Client{Timeout: opts.Timeout}}, nil
}

// InsertID returns the $insert_id sent for an event.
func InsertID(eventID, name string) string {
	return uuid.NewSHA1(insertIDNamespace, []byte(eventID+"\x00"+name)).String()
}

type importEvent struct {
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

type importAnswer struct {
	Code               int    `json:"code"`
	Error              string `json:"error"`
	Status             string `json:"status"`
	NumRecordsImported int    `json:"num_records_imported"`
	FailedRecords      []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"failed_records"`
}

// maxRequestBytes keeps one Import request under Mixpanel's 10 MB limit
// of uncompressed JSON.
const maxRequestBytes = 9 << 20

// Track imports evs, as few requests as Mixpanel's limits allow (2,000
// events and 10 MB a request), each event keeping its $insert_id.
// Mixpanel's error answers are classified by providererr.FromStatus: a 429
// is a *providererr.RateLimitError with its Retry-After, a 4xx a retry
// cannot fix (an invalid event) a *providererr.PermanentError, anything
// else temporary.
func (s *Sink) Track(ctx context.Context, evs []analytics.Event) error {
	body := bytes.NewBufferString("[")
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		body.WriteByte(']')
		err := s.post(ctx, body.Bytes())
		body.Reset()
		body.WriteByte('[')
		n = 0
		return err
	}
	for _, e := range evs {
		b, err := json.Marshal(importEventOf(e))
		if err != nil {
			return fmt.Errorf("mixpanel: encode event %s: %w", e.EventID, err)
		}
		if n > 0 && (n == analytics.MaxBatch || body.Len()+len(b)+2 > maxRequestBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		if n > 0 {
			body.WriteByte(',')
		}
		body.Write(b)
		n++
	}
	return flush()
}

// importEventOf is e in Import's shape.
func importEventOf(e analytics.Event) importEvent {
	props := make(map[string]any, len(e.Properties)+4)
	for k, v := range e.Properties {
		props[k] = v
	}
	props["time"] = e.Time.UnixMilli()
	props["distinct_id"] = e.UserID
	props["$insert_id"] = InsertID(e.EventID, e.Name)
	props["event_id"] = e.EventID
	return importEvent{Event: e.Name, Properties: props}
}

// post sends one Import request whose body is a JSON array of events.
func (s *Sink) post(ctx context.Context, b []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.BaseURL+"/import?strict=1", bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("mixpanel: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(s.opts.Token, "")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("mixpanel: import: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var ans importAnswer
	_ = json.Unmarshal(raw, &ans)
	msg := ans.Error
	for _, f := range ans.FailedRecords {
		msg += "; " + f.Field + ": " + f.Message
	}
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	retryAfter := providererr.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return providererr.FromStatus("mixpanel", resp.StatusCode, retryAfter, msg)
}
