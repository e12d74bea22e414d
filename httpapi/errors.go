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
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mohallamart/backend/mart"
)

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error     string        `json:"error"`
	Details   []fieldDetail `json:"details,omitempty"`
	RequestID string        `json:"requestId,omitempty"`
}

// fieldDetail names one invalid field by its JSON path.
type fieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorKind classifies the errors the HTTP layer itself detects.
type errorKind int

const (
	kindInvalid errorKind = iota + 1
	kindUnauthorized
	kindNotFound
	kindTooLarge
	kindRateLimited
)

// apiError is an error found by the HTTP layer (malformed JSON, a limit,
// auth); statusOf maps it, like the domain errors, to a status.
type apiError struct {
	kind       errorKind
	msg        string
	details    []fieldDetail
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.msg }

func invalid(msg string, details ...fieldDetail) error {
	return &apiError{kind: kindInvalid, msg: msg, details: details}
}

func tooLarge(format string, args ...any) error {
	return &apiError{kind: kindTooLarge, msg: fmt.Sprintf(format, args...)}
}

// errDBUnavailable is wrapped around errors that mean PostgreSQL could not
// be reached in time.
var errDBUnavailable = errors.New("the database is unavailable; try again shortly")

// statusOf is the one place errors become HTTP statuses. It returns the
// status, the sentence for the body and the field details.
func statusOf(err error) (int, string, []fieldDetail) {
	var (
		apiErr   *apiError
		martErr  *mart.ValidationError
		maxBytes *http.MaxBytesError
	)
	switch {
	case errors.As(err, &apiErr):
		switch apiErr.kind {
		case kindInvalid:
			return http.StatusBadRequest, apiErr.msg, apiErr.details
		case kindUnauthorized:
			return http.StatusUnauthorized, apiErr.msg, nil
		case kindNotFound:
			return http.StatusNotFound, apiErr.msg, nil
		case kindTooLarge:
			return http.StatusRequestEntityTooLarge, apiErr.msg, nil
		case kindRateLimited:
			return http.StatusTooManyRequests, apiErr.msg, nil
		}
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than the limit of %s.", byteSize(maxBytes.Limit)), nil
	case errors.As(err, &martErr):
		details := make([]fieldDetail, len(martErr.Fields))
		for i, f := range martErr.Fields {
			details[i] = fieldDetail(f)
		}
		return http.StatusBadRequest, "The request is invalid.", details
	case errors.Is(err, mart.ErrNotFound):
		return http.StatusNotFound, sentence(err), nil
	case errors.Is(err, mart.ErrConflict):
		return http.StatusConflict, sentence(err), nil
	case errors.Is(err, errDBUnavailable) || dbUnavailable(err):
		return http.StatusServiceUnavailable, "The database is unavailable; try again shortly.", nil
	}
	return http.StatusInternalServerError, "Internal server error.", nil
}

// sentence turns a wrapped domain error into a sentence for clients: the
// innermost message, without the operation prefixes and the sentinel
// ("update order status: order 1234 is delivered, which is final: conflict"
// becomes "Order 1234 is delivered, which is final.").
func sentence(err error) string {
	var stock *mart.InsufficientStockError
	if errors.As(err, &stock) {
		return capitalize(stock.Error()) + "."
	}
	msg := err.Error()
	notFound := strings.HasSuffix(msg, ": "+mart.ErrNotFound.Error())
	msg = strings.TrimSuffix(strings.TrimSuffix(msg, ": "+mart.ErrNotFound.Error()), ": "+mart.ErrConflict.Error())
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if notFound {
		msg += " was not found"
	}
	return capitalize(msg) + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
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

// writeError answers err in the error shape of the API, logging it when it
// is a server-side failure.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, details := statusOf(err)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((apiErr.retryAfter+time.Second-1)/time.Second)))
	}
	if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "Request failed", slog.Int("status", status), slog.String("error", err.Error()))
	}
	writeJSON(w, status, errorBody{Error: msg, Details: details, RequestID: requestID(r.Context())})
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
