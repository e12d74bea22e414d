package fn

import (
	"fmt"
	"strings"
	"time"

	"github.com/mohallamart/backend/events"
)

// DescribeTriggers says f's triggers in words, for the docs:
// "order/updated if data.status == 'confirmed'", "cron 0 3 * * * Asia/Kolkata".
func (f *Function) DescribeTriggers() string {
	var out []string
	for _, t := range f.triggers {
		switch {
		case t.Schedule != nil:
			out = append(out, "schedule "+t.Describe)
		case t.Expr != "":
			out = append(out, fmt.Sprintf("`%s` if `%s`", t.Event, t.Expr))
		case t.If != nil:
			out = append(out, fmt.Sprintf("`%s` (filtered)", t.Event))
		default:
			out = append(out, fmt.Sprintf("`%s`", t.Event))
		}
	}
	return strings.Join(out, ", ")
}

// DescribeOptions says f's options in words, for the docs:
// "concurrency data.orderId ≤ 1; cancelOn order/cancelled on data.orderId".
func (f *Function) DescribeOptions() string {
	o := f.opts
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	key := func(k string) string {
		if k == "" {
			return "the function"
		}
		return "`" + k + "`"
	}
	add("%d attempts", f.attempts())
	add("timeout %s", dur(f.timeout()))
	if o.Timeouts.Start > 0 {
		add("start within %s", dur(o.Timeouts.Start))
	}
	if o.Timeouts.Finish > 0 {
		add("finish within %s", dur(o.Timeouts.Finish))
	}
	if o.Priority != nil {
		add("priority %d (of an event without data)", o.Priority(events.Event{}))
	}
	for _, c := range o.Concurrency {
		add("concurrency %d per %s", c.Limit, key(c.Key))
	}
	if t := o.Throttle; t != nil {
		add("throttle %d per %s per %s", t.Limit, dur(t.Period), key(t.Key))
	}
	if r := o.RateLimit; r != nil {
		when := ""
		if r.If != nil {
			when = " (of the events its condition picks)"
		}
		add("rateLimit %d per %s per %s%s", r.Limit, dur(r.Period), key(r.Key), when)
	}
	if d := o.Debounce; d != nil {
		add("debounce %s per %s (at most %s)", dur(d.Period), key(d.Key), dur(d.Timeout))
	}
	if b := o.BatchEvents; b != nil {
		add("batchEvents %d or %s per %s", b.MaxSize, dur(b.Timeout), key(b.Key))
	}
	if i := o.Idempotency; i != nil {
		ttl := i.TTL
		if ttl <= 0 {
			ttl = 24 * time.Hour
		}
		add("idempotency %s for %s", key(i.Key), dur(ttl))
	}
	if s := o.Singleton; s != nil {
		add("singleton (%s) per %s", s.Mode, key(s.Key))
	}
	for _, c := range o.CancelOn {
		add("cancelOn `%s` matching `%s`", c.Event, c.Match)
	}
	if o.OnFailure != nil {
		add("onFailure")
	}
	return strings.Join(out, "; ")
}

// Queue is the queue of f's runs.
func (f *Function) Queue() string { return f.insertOpts(0).Queue }

// dur says d briefly: 2s, 30m, 1h, 24h.
func dur(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
