package providerfake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultMixpanelToken is the fake Mixpanel's project token unless
// Options.Key says otherwise.
const DefaultMixpanelToken = "mp_fake_token"

// mixpanelMaxBatch is the most events Mixpanel's /import takes per request.
const mixpanelMaxBatch = 2000

// Mixpanel is a fake Mixpanel ingestion API: POST /import (the project
// token as the basic-auth user; a JSON array of events or, with
// Content-Type application/x-ndjson, one a line; optionally gzipped; at
// most 2000 events; each needs event, properties.time, distinct_id and
// $insert_id, as strict=1 checks: a batch with bad events imports the good
// ones and answers 400 naming the bad). It deduplicates events by
// $insert_id as Mixpanel does. Its label, which its script answers by and
// counts requests by, is the name of the batch's first event named "mp-…"
// ("" for a batch without one).
type Mixpanel struct {
	*Fake
	mw *mixpanelWire
}

// NewMixpanel starts a fake Mixpanel; Close stops it.
func NewMixpanel(o Options) *Mixpanel {
	o.Key = or(o.Key, DefaultMixpanelToken)
	mw := &mixpanelWire{token: o.Key, insertIDs: map[string]struct{}{}}
	return &Mixpanel{start("Mixpanel", mw, false, o), mw}
}

// Env points the server at the fake.
func (f *Mixpanel) Env() []string {
	return []string{"MIXPANEL_TOKEN=" + f.opts.Key, "MIXPANEL_BASE_URL=" + f.URL}
}

// MixpanelCounts are the events the fake Mixpanel imported.
type MixpanelCounts struct {
	Requests int // that imported events
	Events   int // imported, duplicates included
	Distinct int // by $insert_id
	// LastNew is when the last new $insert_id arrived; FirstNew when the
	// first request with new events arrived, and FirstN how many it
	// carried.
	LastNew  time.Time
	FirstNew time.Time
	FirstN   int
}

// Imported returns what the fake imported so far.
func (f *Mixpanel) Imported() MixpanelCounts {
	f.mw.mu.Lock()
	defer f.mw.mu.Unlock()
	return f.mw.counts
}

// DeliveryRate is the events that arrived after the first request with
// new events over the time from that request to the last new event, per
// second: the rate of the sender's batches, without the wait before the
// first. NaN when every event came in one request.
func (c MixpanelCounts) DeliveryRate() float64 {
	if c.Distinct <= c.FirstN {
		return math.NaN()
	}
	return float64(c.Distinct-c.FirstN) / c.LastNew.Sub(c.FirstNew).Seconds()
}

type mixpanelEvent struct {
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

type mixpanelWire struct {
	token string

	mu        sync.Mutex
	insertIDs map[string]struct{}
	counts    MixpanelCounts
}

func mixpanelFail(w http.ResponseWriter, status int, msg string) {
	replyJSON(w, status, map[string]any{"code": status, "error": msg, "status": http.StatusText(status)})
}

// parse reads a batch: a JSON array, or JSON lines.
func (mw *mixpanelWire) parse(r *http.Request, body []byte) ([]mixpanelEvent, error) {
	var evs []mixpanelEvent
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-ndjson") {
		if err := json.Unmarshal(body, &evs); err != nil {
			return nil, fmt.Errorf("unable to parse JSON array: %w", err)
		}
		return evs, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			var ev mixpanelEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				return nil, fmt.Errorf("invalid JSON line: %w", err)
			}
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

func (mw *mixpanelWire) read(w http.ResponseWriter, r *http.Request, body []byte) (call, bool) {
	if r.Method != http.MethodPost || r.URL.Path != "/import" {
		mixpanelFail(w, http.StatusNotFound, "not found")
		return call{}, true
	}
	if user, _, ok := r.BasicAuth(); !ok || user != mw.token {
		mixpanelFail(w, http.StatusUnauthorized, "Invalid username or secret")
		return call{}, true
	}
	evs, err := mw.parse(r, body)
	if err != nil {
		mixpanelFail(w, http.StatusBadRequest, err.Error())
		return call{}, true
	}
	if len(evs) > mixpanelMaxBatch {
		mixpanelFail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request contains %d events; the limit is %d", len(evs), mixpanelMaxBatch))
		return call{}, true
	}
	type failed struct {
		Index    int    `json:"index"`
		InsertID string `json:"insert_id"`
		Field    string `json:"field"`
		Message  string `json:"message"`
	}
	var bad []failed
	var good []mixpanelEvent
	for i, ev := range evs {
		id, _ := ev.Properties["$insert_id"].(string)
		switch {
		case ev.Event == "":
			bad = append(bad, failed{i, id, "event", "'event' must not be empty"})
		case id == "":
			bad = append(bad, failed{i, id, "properties.$insert_id", "'properties.$insert_id' is required"})
		case ev.Properties["time"] == nil:
			bad = append(bad, failed{i, id, "properties.time", "'properties.time' is required"})
		case ev.Properties["distinct_id"] == nil:
			bad = append(bad, failed{i, id, "properties.distinct_id", "'properties.distinct_id' is required"})
		default:
			good = append(good, ev)
		}
	}
	if len(bad) > 0 {
		mw.record(good)
		replyJSON(w, http.StatusBadRequest, map[string]any{
			"code": 400, "error": "some data points in the request failed validation", "status": "Bad Request",
			"num_records_imported": len(good), "failed_records": bad,
		})
		return call{}, true
	}
	label := ""
	for _, ev := range evs {
		if strings.HasPrefix(ev.Event, "mp-") {
			label = ev.Event
			break
		}
	}
	return call{key: label, label: label}, false
}

// record imports evs.
func (mw *mixpanelWire) record(evs []mixpanelEvent) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	c := &mw.counts
	c.Requests++
	c.Events += len(evs)
	now := time.Now()
	first := c.FirstNew.IsZero()
	for _, ev := range evs {
		id, _ := ev.Properties["$insert_id"].(string)
		if _, seen := mw.insertIDs[id]; seen {
			continue
		}
		mw.insertIDs[id] = struct{}{}
		c.Distinct++
		c.LastNew = now
		if first {
			c.FirstNew = now
			c.FirstN++
		}
	}
}

func (mw *mixpanelWire) accept(_ call, _ string, body []byte) {
	var evs []mixpanelEvent
	if json.Unmarshal(body, &evs) != nil { // JSON lines
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			var ev mixpanelEvent
			if json.Unmarshal(line, &ev) == nil {
				evs = append(evs, ev)
			}
		}
	}
	mw.record(evs)
}

func (*mixpanelWire) delivered(w http.ResponseWriter, _ call, _ string, body []byte) {
	n := bytes.Count(body, []byte(`"$insert_id"`))
	replyJSON(w, http.StatusOK, map[string]any{"code": 200, "num_records_imported": n, "status": "OK"})
}

func (*mixpanelWire) failed(w http.ResponseWriter, a Answer, _ call, after time.Duration) {
	switch a {
	case TooMany:
		retryAfter(w, after)
		mixpanelFail(w, http.StatusTooManyRequests, "Project exceeded rate limits.")
	case Reject:
		mixpanelFail(w, http.StatusBadRequest, "some data points in the request failed validation")
	default:
		mixpanelFail(w, http.StatusInternalServerError, "Internal server error")
	}
}

func (*mixpanelWire) newID(n int) string { return fmt.Sprintf("batch-%d", n) }
