package httpapi

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/db"
)

//go:embed mailbox/*.html
var mailboxFiles embed.FS

// mailboxLimit is how many messages the mailbox lists, newest first.
const mailboxLimit = 200

// mailboxCSP keeps the mailbox pages inert: no script runs, nothing loads
// from elsewhere. An email's HTML is shown in a sandboxed srcdoc iframe,
// which also inherits this policy.
const mailboxCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// mailboxChannels are the channels deliveries records (its CHECK
// constraint). Spelled out here: httpapi links no notify code.
func mailboxChannels() []string { return []string{"email", "sms", "push"} }

// mailboxPages renders the development mailbox.
type mailboxPages struct {
	list, message *template.Template
}

func newMailboxPages() (*mailboxPages, error) {
	funcs := template.FuncMap{"when": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") }}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).ParseFS(mailboxFiles, "mailbox/layout.html", "mailbox/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse mailbox page %s: %w", name, err)
		}
		return t, nil
	}
	list, err := parse("list.html")
	if err != nil {
		return nil, err
	}
	message, err := parse("message.html")
	if err != nil {
		return nil, err
	}
	return &mailboxPages{list: list, message: message}, nil
}

// mailboxFilter is the list's query: both fields optional.
type mailboxFilter struct {
	Recipient, Channel string
}

// query is the filter as a query string ("" when empty), for links.
func (f mailboxFilter) query() string {
	v := url.Values{}
	if f.Recipient != "" {
		v.Set("recipient", f.Recipient)
	}
	if f.Channel != "" {
		v.Set("channel", f.Channel)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func (s *server) mailboxList(w http.ResponseWriter, r *http.Request, pages *mailboxPages) {
	f := mailboxFilter{
		Recipient: strings.TrimSpace(r.URL.Query().Get("recipient")),
		Channel:   strings.TrimSpace(r.URL.Query().Get("channel")),
	}
	channels := mailboxChannels()
	params := db.DeliveryListParams{MaxRows: mailboxLimit}
	if f.Recipient != "" {
		params.Recipient = &f.Recipient
	}
	switch {
	case f.Channel == "":
	case slices.Contains(channels, f.Channel):
		params.Channel = &f.Channel
	default:
		s.writeError(w, r, invalid("The mailbox filter is invalid.",
			apperr.FieldError{Field: "channel", Message: "must be one of: " + strings.Join(channels, ", ")}))
		return
	}
	rows, err := db.New(s.DB).DeliveryList(r.Context(), params)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list deliveries: %w", err))
		return
	}
	s.writePage(w, r, pages.list, map[string]any{
		"Title": "Dev mailbox", "Messages": rows, "Filter": f, "Query": f.query(),
		"Channels": channels, "Limit": mailboxLimit, "Full": len(rows) == mailboxLimit,
	})
}

func (s *server) mailboxMessage(w http.ResponseWriter, r *http.Request, pages *mailboxPages) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	notFound := apperr.Errorf(apperr.NotFound, "No message %s in the mailbox.", r.PathValue("id"))
	if err != nil || id <= 0 {
		s.writeError(w, r, notFound)
		return
	}
	d, err := db.New(s.DB).DeliveryGet(r.Context(), id)
	if errors.Is(err, pgx.ErrNoRows) {
		s.writeError(w, r, notFound)
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("get delivery %d: %w", id, err))
		return
	}
	title := d.Subject
	if title == "" {
		title = d.Channel + " to " + d.Recipient
	}
	s.writePage(w, r, pages.message, map[string]any{"Title": title, "M": d})
}

// writePage renders a mailbox page; a page that fails to render is a 500.
func (s *server) writePage(w http.ResponseWriter, r *http.Request, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.writeError(w, r, fmt.Errorf("render %s: %w", t.Name(), err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", mailboxCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
}
