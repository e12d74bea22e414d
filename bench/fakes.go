package main

import (
	"context"
	"strings"
	"time"

	"github.com/mohallamart/backend/internal/providerfake"
)

// providerFakes are the outside services a server run talks to (package
// providerfake's, on 127.0.0.1, with their default credentials), and the
// environment that points the server at them.
type providerFakes struct {
	mixpanel  *providerfake.Mixpanel
	resend    *providerfake.Resend
	typesense *providerfake.Typesense
	all       []*providerfake.Fake
}

// startFakes starts the fakes asked for.
func startFakes(mixpanel, resend, typesense bool) *providerFakes {
	p := &providerFakes{}
	if mixpanel {
		p.mixpanel = providerfake.NewMixpanel(providerfake.Options{})
		p.all = append(p.all, p.mixpanel.Fake)
	}
	if resend {
		p.resend = providerfake.NewResend(providerfake.Options{From: "MohallaMart <orders@bench.invalid>"})
		p.all = append(p.all, p.resend.Fake)
	}
	if typesense {
		p.typesense = providerfake.NewTypesense(providerfake.Options{})
		p.all = append(p.all, p.typesense.Fake)
	}
	return p
}

// env points the server at the running fakes.
func (p *providerFakes) env() map[string]string {
	var kv []string
	if p.mixpanel != nil {
		kv = append(kv, p.mixpanel.Env()...)
	}
	if p.resend != nil {
		kv = append(kv, p.resend.Env()...)
	}
	if p.typesense != nil {
		kv = append(kv, p.typesense.Env()...)
	}
	env := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		env[k] = v
	}
	return env
}

// setDelay makes every fake answer after d (0: at once).
func (p *providerFakes) setDelay(d time.Duration) {
	for _, f := range p.all {
		f.SetDelay(d)
	}
}

// close stops every fake.
func (p *providerFakes) close() {
	for _, f := range p.all {
		f.Close()
	}
}

// waitDelivered waits until the fake Mixpanel holds want distinct events or
// ctx ends; it returns whether they all arrived.
func waitDelivered(ctx context.Context, m *providerfake.Mixpanel, want int) bool {
	return m.Wait(ctx, func(providerfake.Counts) bool { return m.Imported().Distinct >= want }) == nil
}
