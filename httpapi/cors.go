package httpapi

import (
	"net/http"
	"strings"
)

// corsPolicy answers browsers sending events from the configured origins
// (CORS_ORIGINS). It is used on the event ingest routes only: a browser
// holds an event key, which can send events and nothing else.
type corsPolicy struct {
	origins map[string]bool
}

// newCORS allows the given origins (scheme://host[:port], compared
// exactly, without a trailing slash).
func newCORS(origins []string) corsPolicy {
	p := corsPolicy{origins: map[string]bool{}}
	for _, o := range origins {
		p.origins[strings.TrimSuffix(o, "/")] = true
	}
	return p
}

// allowedOrigin returns the request's Origin when it is allowed, else "".
func (p corsPolicy) allowedOrigin(w http.ResponseWriter, r *http.Request) string {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !p.origins[origin] {
		return ""
	}
	return origin
}

// wrap adds the CORS answer headers for an allowed origin to every answer
// of next, errors (401, 429, 400) included, so the browser's script can
// read them.
func (p corsPolicy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := p.allowedOrigin(w, r); origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id")
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers a CORS preflight (OPTIONS) with 204: with the
// Access-Control-Allow-* headers when the origin is allowed and asks for
// POST with headers the event API reads (Authorization, Content-Type and
// Inngest's X-Inngest-* headers), and without them otherwise, which makes
// the browser refuse the request.
func (p corsPolicy) preflight() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Access-Control-Request-Method")
		w.Header().Add("Vary", "Access-Control-Request-Headers")
		origin := p.allowedOrigin(w, r)
		method := r.Header.Get("Access-Control-Request-Method")
		headers, ok := allowedHeaders(r.Header.Values("Access-Control-Request-Headers"))
		if origin != "" && method == http.MethodPost && ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Methods", http.MethodPost)
			if headers != "" {
				w.Header().Set("Access-Control-Allow-Headers", headers)
			}
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// allowedHeaders checks the headers a preflight asks for: Authorization,
// Content-Type and X-Inngest-* are allowed. It returns them as a list for
// Access-Control-Allow-Headers, or false when one is not allowed.
func allowedHeaders(values []string) (string, bool) {
	var out []string
	for _, v := range values {
		for h := range strings.SplitSeq(v, ",") {
			h = strings.ToLower(strings.TrimSpace(h))
			switch {
			case h == "":
				continue
			case h == "authorization", h == "content-type", strings.HasPrefix(h, "x-inngest-"):
				out = append(out, h)
			default:
				return "", false
			}
		}
	}
	return strings.Join(out, ", "), true
}
