package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/replay"
)

// maxFormBytes bounds the body of a console form.
const maxFormBytes = 16 << 10

// consoleAction is what the console's confirm and result pages show of an
// action: its name, the form's values (sent again to confirm), what its dry
// run counted (or what it did) and the sentence that says so.
type consoleAction struct {
	Action string
	Title  string
	Values url.Values
	Count  int
	Says   string
	Done   bool
	// Error and Details are the layout's (an error page's); empty here.
	Error   string
	Details []apperr.FieldError
}

// consoleActions answers GET /admin/actions: the paused functions, and the
// forms of the actions (pause, resume, cancel, retry, replay), each of
// which shows its dry run's count to confirm before it acts. ?function=
// picks the function of the forms.
func (s *server) consoleActions(w http.ResponseWriter, r *http.Request, p *consolePages) {
	s.actionsPage(w, r, p, http.StatusOK, r.URL.Query(), nil)
}

// actionsPage renders the actions page with the form values q and, when
// err is an Invalid error, its message (a 400).
func (s *server) actionsPage(w http.ResponseWriter, r *http.Request, p *consolePages, status int, q url.Values, err error) {
	page := map[string]any{"Q": q, "Functions": s.Control.Functions(), "Events": events.Names()}
	paused, perr := s.Control.Paused(r.Context())
	if perr != nil {
		s.writeError(w, r, perr)
		return
	}
	page["Paused"] = paused
	if err != nil {
		s.consoleError(w, r, p.actions, "Actions", page, err)
		return
	}
	s.consolePage(w, r, p.actions, status, "Actions", page)
}

// consoleAct answers POST /admin/actions/{action} (a form of the actions
// page): without confirm=yes it runs the action's dry run and shows its
// count with a button that sends the form again, confirmed; with it, it
// acts and shows what it did. Bad input shows the actions page with the
// field named (400), and nothing is written.
func (s *server) consoleAct(w http.ResponseWriter, r *http.Request, p *consolePages) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, r, invalid("The form could not be read; send it from the console's actions page."))
		return
	}
	form := r.PostForm
	confirmed := form.Get("confirm") == "yes"
	values := url.Values{}
	for k, v := range form {
		if k != "confirm" {
			values[k] = v
		}
	}
	a, err := s.act(r, r.PathValue("action"), values, !confirmed)
	if err != nil {
		if ae, ok := errors.AsType[*apperr.Error](err); ok && ae.Code == apperr.Invalid {
			s.actionsPage(w, r, p, http.StatusBadRequest, values, err)
			return
		}
		s.writeError(w, r, err)
		return
	}
	a.Done = confirmed
	s.consolePage(w, r, p.action, http.StatusOK, a.Title, a)
}

// act runs action with the form's values, dry or not, through the shared
// implementation (control.Service), and says what it counted or did.
func (s *server) act(r *http.Request, action string, v url.Values, dry bool) (consoleAction, error) {
	ctx := r.Context()
	a := consoleAction{Action: action, Values: v}
	function := v.Get("function")
	since, until, err := formTimes(v)
	if err != nil {
		return a, err
	}
	switch action {
	case "pause":
		res, err := s.Control.Pause(ctx, control.PauseRequest{Function: function, By: adminName(r), DryRun: dry})
		if err != nil {
			return a, err
		}
		a.Title, a.Count = "Pause "+res.Function, res.Held
		switch {
		case dry && res.AlreadyPaused:
			a.Says = fmt.Sprintf("%s is paused already. Pausing again holds its %d runs ready to start now.", res.Function, res.Held)
		case dry:
			a.Says = fmt.Sprintf("Pausing %s holds its %d runs ready to start now, and every later run of it, until it is resumed. Nothing is dropped.", res.Function, res.Held)
		default:
			a.Says = fmt.Sprintf("Paused %s: %d runs held. Its new runs are held until it is resumed.", res.Function, res.Held)
		}
	case "resume":
		res, err := s.Control.Resume(ctx, control.ResumeRequest{Function: function, DryRun: dry})
		if err != nil {
			return a, err
		}
		a.Title, a.Count = "Resume "+res.Function, res.Released
		if dry {
			a.Says = fmt.Sprintf("Resuming %s releases its %d held runs; they run in their order.", res.Function, res.Released)
		} else {
			a.Says = fmt.Sprintf("Resumed %s: %d held runs released.", res.Function, res.Released)
		}
	case "cancel":
		res, err := s.Control.Cancel(ctx, control.CancelRequest{
			Function: function, Since: since, Until: until, Match: v.Get("match"), Reason: v.Get("reason"), DryRun: dry,
		}, nil)
		if err != nil {
			return a, err
		}
		a.Title, a.Count = "Cancel runs of "+res.Function, res.Matched
		if dry {
			a.Says = fmt.Sprintf("Cancelling cancels %d runs of %s that are not finished: %d queued, held or waiting, and %d running (asked to stop).",
				res.Matched, res.Function, res.Queued, res.Running)
		} else {
			a.Says = fmt.Sprintf("Cancelled %d runs of %s; asked %d running ones to stop.", res.Cancelled, res.Function, res.Stopped)
		}
	case "retry":
		if function == "" {
			return a, invalid("The request is invalid.", apperr.FieldError{Field: "function", Message: "is required"})
		}
		res, err := s.Control.Retry(ctx, replay.RetryRequest{
			Function: function, Since: since, Until: until, Match: v.Get("match"), ErrorLike: v.Get("errorLike"), DryRun: dry,
		}, nil)
		if err != nil {
			return a, err
		}
		a.Title, a.Count = "Retry failed runs of "+function, res.Matched
		if dry {
			a.Says = fmt.Sprintf("Retrying makes %d failed runs of %s available again.", res.Matched, function)
		} else {
			a.Says = fmt.Sprintf("Retried %d failed runs of %s.", res.Retried, function)
		}
	case "replay":
		res, err := s.Control.Replay(ctx, replay.Request{Name: v.Get("name"), Since: since, Until: until, Function: function, DryRun: dry}, nil)
		if err != nil {
			return a, err
		}
		n := 0
		for _, k := range res.Enqueued {
			n += k
		}
		a.Title, a.Count = "Replay "+v.Get("name"), n
		if dry {
			a.Says = fmt.Sprintf("Replaying %d %s events enqueues %d runs again (a message already sent is not sent again).", res.Events, v.Get("name"), n)
		} else {
			a.Says = fmt.Sprintf("Replay %s: %d events, %d runs enqueued.", res.ReplayID, res.Events, n)
		}
	default:
		return a, apperr.Errorf(apperr.NotFound, "No action %q: the actions are pause, resume, cancel, retry and replay.", action)
	}
	return a, nil
}

// formTimes reads a form's since and until (each optional here): RFC 3339,
// a browser's datetime-local value (UTC), a date, or a duration ago (24h).
func formTimes(v url.Values) (since, until time.Time, err error) {
	now := time.Now()
	parse := func(field string) (time.Time, error) {
		s := v.Get(field)
		if s == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", time.DateOnly} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return now.Add(-d), nil
		}
		return time.Time{}, invalid("The request is invalid.", apperr.FieldError{Field: field,
			Message: "must be a time (2026-11-30T18:00:00Z, 2026-11-30T18:00 in UTC, 2026-11-30) or a duration ago (24h)"})
	}
	if since, err = parse("since"); err != nil {
		return since, until, err
	}
	until, err = parse("until")
	return since, until, err
}
