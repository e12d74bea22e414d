package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mohallamart/backend/apperr"
)

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error     string              `json:"error"`
	Details   []apperr.FieldError `json:"details,omitempty"`
	RequestID string              `json:"requestId,omitempty"`
}

// invalid is the apperr.Invalid error with the public message msg and the
// invalid fields.
func invalid(msg string, details ...apperr.FieldError) error {
	return &apperr.Error{Code: apperr.Invalid, Message: msg, Details: details}
}

// httpStatus is the one place errors become HTTP statuses: by their code.
func httpStatus(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Unprocessable:
		return http.StatusUnprocessableEntity
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.Misdirected:
		return http.StatusMisdirectedRequest
	case apperr.RateLimited:
		return http.StatusTooManyRequests
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// classify gives an error that has no code, and means PostgreSQL could not
// be reached in time, the code apperr.Unavailable. Other errors are returned
// as they are.
func classify(err error) error {
	if _, ok := errors.AsType[*apperr.Error](err); ok || !dbUnavailable(err) {
		return err
	}
	return &apperr.Error{Code: apperr.Unavailable, Message: "The database is unavailable; try again shortly.", Err: err}
}

// dbUnavailable reports whether err means PostgreSQL could not be reached or
// did not answer in time, as opposed to rejecting the query.
func dbUnavailable(err error) bool {
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
		pgErr   *pgconn.PgError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, pgconn.ErrConnClosed), pgconn.Timeout(err):
		return true
	case errors.As(err, &pgErr):
		// 08: connection exception; 57P01-03: shutting down or starting up;
		// 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0") || pgErr.Code == "53300"
	}
	return false
}

// writeError answers err in the error shape of the API: the status of its
// code, its public message and details. A server-side failure is logged
// with its internal detail, which the client never sees.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = classify(err)
	code := apperr.CodeOf(err)
	status := httpStatus(code)
	if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "Request failed", slog.Int("status", status),
			slog.String("code", string(code)), slog.String("error", err.Error()))
	}
	writeJSON(w, status, errorBody{Error: apperr.MessageOf(err), Details: apperr.DetailsOf(err), RequestID: requestID(r.Context())})
}

// writeJSON writes v as the JSON body of a status answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// byteSize renders a limit in KiB or MiB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
