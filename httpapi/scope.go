package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
)

// caller is the key a request was let through with (requireKey).
type caller struct {
	key string
	// public: the key is one of PublicEventKeys, which send only the event
	// names of PublicEventNames.
	public bool
}

type callerCtxKey struct{}

// withCaller returns r with c in its context.
func withCaller(r *http.Request, c caller) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), callerCtxKey{}, c))
}

// callerOf returns the key the request was let through with; false when
// the route was open (no keys configured).
func callerOf(ctx context.Context) (caller, bool) {
	c, ok := ctx.Value(callerCtxKey{}).(caller)
	return c, ok
}

// maxQuotedName bounds how much of an event name a refusal repeats.
const maxQuotedName = 100

// publicIDPrefix starts the stored id of every event a public key names
// itself (its id, or the one derived from Inngest's seed header): ids are
// global, so without it anyone who reads a page's key could take an id
// that a server-side sender will use, whose events would then be refused
// as conflicts (409) until the taken one expired.
const publicIDPrefix = "public:"

// applyKeyScope holds the events of a public event key's request to what
// such a key may send, before anything is stored. An event whose name is
// not in PublicEventNames is a 403 naming each such event. The ids the
// events name themselves get publicIDPrefix, so such ids are deduplicated
// among public senders only (an event without an id gets a new one, which
// no one can take first); a prefixed id longer than an id may be is a 400
// naming the field. Requests of other keys are left as they are.
func (s *server) applyKeyScope(ctx context.Context, evs []events.Event, batch bool) error {
	if c, ok := callerOf(ctx); !ok || !c.public {
		return nil
	}
	var refused, tooLong []apperr.FieldError
	first := ""
	for i := range evs {
		ev := &evs[i]
		if !slices.Contains(s.PublicEventNames, ev.Name) {
			name := ev.Name
			if len(name) > maxQuotedName {
				name = name[:maxQuotedName] + "..."
			}
			if first == "" {
				first = fmt.Sprintf("%q", name)
			}
			refused = append(refused, apperr.FieldError{Field: eventPath(batch, i, "name"),
				Message: fmt.Sprintf("%q may not be sent with a public event key", name)})
		}
		if ev.ID == "" {
			continue
		}
		ev.ID = publicIDPrefix + ev.ID
		if len(ev.ID) > maxEventIDLength {
			tooLong = append(tooLong, apperr.FieldError{Field: eventPath(batch, i, "id"),
				Message: fmt.Sprintf("must be at most %d characters with a public event key", maxEventIDLength-len(publicIDPrefix))})
		}
	}
	if len(refused) > 0 {
		allowed := "no event (PUBLIC_EVENT_NAMES is empty)"
		if len(s.PublicEventNames) > 0 {
			allowed = strings.Join(s.PublicEventNames, ", ") + " (PUBLIC_EVENT_NAMES)"
		}
		return &apperr.Error{Code: apperr.Forbidden, Details: refused, Message: fmt.Sprintf(
			"This is a public event key (PUBLIC_EVENT_KEYS), which may send only %s, not %s; send that event from a server with a key from EVENT_KEYS. Nothing was stored.",
			allowed, first)}
	}
	if len(tooLong) > 0 {
		return invalidEvents(batch, tooLong)
	}
	return nil
}

// publicKeysInPages refuses with 403 a request from a page on one of
// CORS_ORIGINS that carries a server-side event key (EVENT_KEYS): a page
// shows its key to everyone who opens it, so pages get public keys, which
// send only PublicEventNames. Requests from servers send no Origin and
// are not affected.
func (s *server) publicKeysInPages(cors corsPolicy, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, ok := callerOf(r.Context()); ok && !c.public && cors.origins[r.Header.Get("Origin")] {
			s.writeError(w, r, apperr.Errorf(apperr.Forbidden,
				"This is a server-side event key (EVENT_KEYS), sent from a page of %s: pages send events with a public key (PUBLIC_EVENT_KEYS).",
				r.Header.Get("Origin")))
			return
		}
		next(w, r)
	}
}
