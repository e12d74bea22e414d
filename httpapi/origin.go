package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/mohallamart/backend/apperr"
)

// loopbackHostsOnly answers 421 to a request whose Host is not one of this
// machine's own names (localhost, 127.0.0.1, [::1], with any port) when
// LoopbackHostsOnly is set (development). A development server listens on
// loopback only, but a page of another site can still reach it through a
// name of its own that resolves to 127.0.0.1 (DNS rebinding); such a
// request carries that name as its Host.
func (s *server) loopbackHostsOnly(next http.Handler) http.Handler {
	if !s.LoopbackHostsOnly {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			s.writeError(w, r, apperr.Errorf(apperr.Misdirected,
				"This development server answers only to localhost, 127.0.0.1 and [::1]; use one of those names."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether the Host header value host names this
// machine: localhost (any case), 127.0.0.1 or [::1], with or without a
// port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return false // an IPv6 address without brackets is no Host
	}
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

// crossOriginProtection returns the protection of the state-changing
// routes: a browser's cross-origin request (by Sec-Fetch-Site, or Origin
// against Host) with a method other than GET, HEAD or OPTIONS is a 403.
// Requests from other programs, which send neither header, pass; so do
// those from trusted, the origins whose pages may send them (CORS_ORIGINS,
// on the event ingest routes only).
func (s *server) crossOriginProtection(trusted []string) (*http.CrossOriginProtection, error) {
	p := http.NewCrossOriginProtection()
	for _, o := range trusted {
		if err := p.AddTrustedOrigin(strings.TrimSuffix(o, "/")); err != nil {
			return nil, fmt.Errorf("httpapi: CORS origin %q: %w", o, err)
		}
	}
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apperr.Errorf(apperr.Forbidden, "Cross-origin request refused: a page of another site may not change anything here."))
	}))
	return p, nil
}
