package httpapi

import (
	"net/http"
	"time"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/replay"
)

// replayEvents answers POST /admin/events/replay: the body is a
// replay.Request, the answer its replay.Result.
func (s *server) replayEvents(w http.ResponseWriter, r *http.Request) {
	var req replay.Request
	if err := decodeBody(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Control.Replay(r.Context(), req, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// failedJobs answers GET /admin/jobs/failed?since=RFC3339&kind=K: the dead
// letter groups.
func (s *server) failedJobs(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeError(w, r, invalid("The request is invalid.", apperr.FieldError{Field: "since", Message: "must be an RFC 3339 time, such as 2026-11-30T18:00:00Z"}))
			return
		}
		since = t
	}
	groups, err := s.Control.Failed(r.Context(), since, r.URL.Query().Get("kind"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": groups})
}

// retryJobs answers POST /admin/jobs/retry: the body is a
// replay.RetryRequest, the answer its replay.RetryResult.
func (s *server) retryJobs(w http.ResponseWriter, r *http.Request) {
	var req replay.RetryRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Control.Retry(r.Context(), req, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
