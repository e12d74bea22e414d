package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientIP: the client address is the peer's unless the peer is a
// trusted proxy; then it is the rightmost X-Forwarded-For hop that is not
// one, over every X-Forwarded-For header, stopping at a hop that is no
// address (the client wrote it).
func TestClientIP(t *testing.T) {
	t.Parallel()
	s := &server{Opts: Opts{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8:ffff::/48"),
	}}}
	for _, tc := range []struct {
		peer    string
		headers []string
		want    string
	}{
		{"203.0.113.7:4000", nil, "203.0.113.7"},
		{"203.0.113.7:4000", []string{"198.51.100.1"}, "203.0.113.7"}, // an untrusted peer's header is ignored
		{"10.0.0.2:4000", nil, "10.0.0.2"},
		{"10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"6.6.6.6, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"6.6.6.6, 198.51.100.1", "192.0.2.1"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"[2001:db8::7]:5555, 2001:db8:ffff::1"}, "2001:db8::7"},
		{"10.0.0.2:4000", []string{"not-an-address, 10.1.1.1"}, "10.1.1.1"},
		{"10.0.0.2:4000", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"}, // every hop a proxy: the first
		{"[::ffff:10.0.0.2]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"[2001:db8:ffff::9]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, h := range tc.headers {
			r.Header.Add("X-Forwarded-For", h)
		}
		require.Equal(t, tc.want, s.clientIP(r), "%s %v", tc.peer, tc.headers)
	}
}
