package httpapi_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/httpapi"
)

// flakyProxy forwards TCP connections to a PostgreSQL server and can cut
// them all and refuse new ones, as a network outage or a database restart
// does.
type flakyProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &flakyProxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *flakyProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// setDown starts (cutting every open connection) or ends an outage.
func (p *flakyProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}

// TestDatabaseOutageRecovers cuts the database away from a running handler:
// requests fail fast with 503 and /readyz says why; when the database is
// back, the same handler (no restart) serves again.
func TestDatabaseOutageRecovers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u, err := url.Parse(dbtest.NewURL(ctx, t))
	require.NoError(t, err)
	proxy := newFlakyProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	pool, err := pgxpool.New(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b := setupWithPool(t, pool, func(o *httpapi.Opts) { o.DBTimeout = 2 * time.Second })

	require.Equal(t, http.StatusOK, b.do(t, "POST", "/v1/events", testKey, userCreated("before", "a@example.com")).status)

	proxy.setDown(true)
	start := time.Now()
	m := requireError(t, b.do(t, "POST", "/v1/events", testKey, userCreated("during", "b@example.com")), http.StatusServiceUnavailable)
	require.Contains(t, m["error"], "database is unavailable")
	require.Less(t, time.Since(start), 3*time.Second, "fails within DB_TIMEOUT, no hang")
	r := b.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.Contains(t, r.json(t)["reason"], "database unreachable")

	proxy.setDown(false)
	require.Eventually(t, func() bool {
		return b.do(t, "POST", "/v1/events", testKey, userCreated("after", "c@example.com")).status == http.StatusOK
	}, 10*time.Second, 100*time.Millisecond, "the handler recovers once the database is back")
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/readyz", "", nil).status)
	r = b.do(t, "GET", "/v1/events/during", apiKey, nil)
	require.Equal(t, http.StatusNotFound, r.status, "the event sent during the outage was not stored")
	require.Equal(t, http.StatusOK, b.do(t, "GET", "/v1/events/after", apiKey, nil).status)
}
