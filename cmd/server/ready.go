package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// baseURL is the URL a browser on this machine reaches the listen address
// addr at: an unspecified host (":8080", "[::]:8080") becomes localhost.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// databaseURL shows where pool connects, without its password.
func databaseURL(pool *pgxpool.Pool) string {
	cc := pool.Config().ConnConfig
	u := url.URL{Scheme: "postgres", User: url.User(cc.User), Path: "/" + cc.Database}
	if strings.HasPrefix(cc.Host, "/") { // a unix socket directory
		u.RawQuery = url.Values{"host": {cc.Host}}.Encode()
	} else {
		u.Host = net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	}
	return u.String()
}

// printReady tells a developer, once the server listens at addr (and its
// operations routes at opsAddr), where everything is and one command that
// makes something happen. It prints nothing in production or for
// ROLE=worker, which serves no API.
func printReady(w io.Writer, cfg Config, addr, opsAddr string, pool *pgxpool.Pool) {
	if cfg.AppEnv != "development" || cfg.Role == RoleWorker {
		return
	}
	base := baseURL(addr)
	apiNote := "no key needed: EVENT_KEYS is unset"
	if len(cfg.EventKeys) > 0 {
		apiNote = "Authorization: Bearer <a key from EVENT_KEYS>"
	}
	uiNote := "open: ADMIN_USER is unset"
	if cfg.AdminUser != "" {
		uiNote = "basic auth: ADMIN_USER / ADMIN_PASSWORD"
	}
	fmt.Fprintf(w, `
MohallaMart is ready (development):
  API          %[1]s/v1   (%[2]s; routes in docs/http-api.md)
  Console      %[1]s/admin/   (events, runs and their steps, functions; %[3]s)
  River UI     %[1]s/riverui/   (%[3]s)
  Dev mailbox  %[1]s/dev/mailbox   (every email, SMS and push the workers sent or captured)
  Metrics      %[5]s/metrics
  Database     %[4]s
  Try          make seed   (a demo neighbourhood: shops, customers, orders; their emails land in the mailbox)

`, base, apiNote, uiNote, databaseURL(pool), baseURL(opsAddr))
}
