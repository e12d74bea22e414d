package httpapi

import (
	"net/http"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/control"
	"github.com/mohallamart/backend/replay"
)

// dryRunBody is the optional body of POST /admin/functions/{id}/pause and
// /resume.
type dryRunBody struct {
	DryRun bool `json:"dryRun"`
}

// pauseFunction answers POST /admin/functions/{id}/pause with a
// control.PauseResult.
func (s *server) pauseFunction(w http.ResponseWriter, r *http.Request) {
	var body dryRunBody
	if err := decodeBody(w, r, &body, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Control.Pause(r.Context(), control.PauseRequest{Function: r.PathValue("id"), By: adminName(r), DryRun: body.DryRun})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// resumeFunction answers POST /admin/functions/{id}/resume with a
// control.ResumeResult.
func (s *server) resumeFunction(w http.ResponseWriter, r *http.Request) {
	var body dryRunBody
	if err := decodeBody(w, r, &body, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Control.Resume(r.Context(), control.ResumeRequest{Function: r.PathValue("id"), DryRun: body.DryRun})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// pausedFunctions answers GET /admin/functions/paused: {"paused": [...]}.
func (s *server) pausedFunctions(w http.ResponseWriter, r *http.Request) {
	paused, err := s.Control.Paused(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"paused": paused})
}

// runsFilterBody is the body of POST /admin/runs/cancel and
// /admin/runs/retry: times as RFC 3339 text, so that a wrong one is named.
type runsFilterBody struct {
	Function  string `json:"function"`
	Since     string `json:"since"`
	Until     string `json:"until"`
	Match     string `json:"match"`
	ErrorLike string `json:"errorLike"`
	Reason    string `json:"reason"`
	DryRun    bool   `json:"dryRun"`
}

// times parses b's since and until (each optional here).
func (b runsFilterBody) times() (since, until time.Time, err error) {
	parse := func(field, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, invalid("The request is invalid.", apperr.FieldError{Field: field, Message: "must be an RFC 3339 time, such as 2026-11-30T18:00:00Z"})
		}
		return t, nil
	}
	if since, err = parse("since", b.Since); err != nil {
		return since, until, err
	}
	until, err = parse("until", b.Until)
	return since, until, err
}

// cancelRuns answers POST /admin/runs/cancel: the runs of a function
// (since, until, match) not finalized are cancelled; a control.CancelResult.
func (s *server) cancelRuns(w http.ResponseWriter, r *http.Request) {
	var body runsFilterBody
	if err := decodeBody(w, r, &body, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.ErrorLike != "" {
		s.writeError(w, r, invalid("The request is invalid.", apperr.FieldError{Field: "errorLike", Message: "is for retry only"}))
		return
	}
	since, until, err := body.times()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Control.Cancel(r.Context(), control.CancelRequest{
		Function: body.Function, Since: since, Until: until, Match: body.Match, Reason: body.Reason, DryRun: body.DryRun,
	}, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// retryRuns answers POST /admin/runs/retry: the failed runs of a function
// (since, until by when they failed; match; errorLike) run again; a
// replay.RetryResult.
func (s *server) retryRuns(w http.ResponseWriter, r *http.Request) {
	var body runsFilterBody
	if err := decodeBody(w, r, &body, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Reason != "" {
		s.writeError(w, r, invalid("The request is invalid.", apperr.FieldError{Field: "reason", Message: "is for cancel only"}))
		return
	}
	since, until, err := body.times()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Function == "" {
		s.writeError(w, r, invalid("The request is invalid.", apperr.FieldError{Field: "function", Message: "is required"}))
		return
	}
	res, err := s.Control.Retry(r.Context(), replay.RetryRequest{
		Function: body.Function, Since: since, Until: until, Match: body.Match, ErrorLike: body.ErrorLike, DryRun: body.DryRun,
	}, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// adminName is who an admin request is from, for the record of a pause:
// the basic-auth user, or "admin" when the admin routes are open.
func adminName(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return user
	}
	return "admin"
}
