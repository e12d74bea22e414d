package providerfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultTypesenseKey is the fake Typesense's API key unless Options.Key
// says otherwise.
const DefaultTypesenseKey = "ts_fake_key"

// Typesense is a fake Typesense, the part of its REST API the search index
// uses, with the key in X-TYPESENSE-API-KEY: GET and POST /collections
// (answered at once: no sends), document upserts (POST
// /collections/{name}/documents?action=upsert: the sends, counted by
// collection and document id, labelled by the document's name), DELETE
// /collections/{name}/documents/{id}, and GET .../documents/search (a
// query: each word of q must be a word of one of the query_by fields;
// filter_by shop_id:=`x`; ranked by the fields matched, then by name).
type Typesense struct {
	*Fake
	tw *typesenseWire
}

// NewTypesense starts a fake Typesense; Close stops it.
func NewTypesense(o Options) *Typesense {
	o.Key = or(o.Key, DefaultTypesenseKey)
	tw := &typesenseWire{key: o.Key, collections: map[string]map[string]any{}, docs: map[string]map[string]map[string]any{}}
	return &Typesense{start("Typesense", tw, false, o), tw}
}

// Env points the server at the fake.
func (f *Typesense) Env() []string {
	return []string{"TYPESENSE_URL=" + f.URL, "TYPESENSE_API_KEY=" + f.opts.Key}
}

// Documents returns how many documents collection holds.
func (f *Typesense) Documents(collection string) int {
	f.tw.mu.Lock()
	defer f.tw.mu.Unlock()
	return len(f.tw.docs[collection])
}

type typesenseWire struct {
	key string

	mu          sync.Mutex
	collections map[string]map[string]any            // name → schema
	docs        map[string]map[string]map[string]any // collection → id → document
}

func (tw *typesenseWire) read(w http.ResponseWriter, r *http.Request, body []byte) (call, bool) {
	msg := func(status int, text string) { replyJSON(w, status, map[string]string{"message": text}) }
	if r.Header.Get("X-TYPESENSE-API-KEY") != tw.key {
		msg(http.StatusUnauthorized, "Forbidden - a valid `x-typesense-api-key` header must be sent.")
		return call{}, true
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if parts[0] != "collections" {
		msg(http.StatusNotFound, "Not Found")
		return call{}, true
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 1:
		var schema map[string]any
		if json.Unmarshal(body, &schema) != nil {
			msg(http.StatusBadRequest, "Bad JSON.")
			return call{}, true
		}
		name, _ := schema["name"].(string)
		if name == "" {
			msg(http.StatusBadRequest, "Parameter `name` is required.")
			return call{}, true
		}
		if _, ok := tw.collections[name]; ok {
			msg(http.StatusConflict, "A collection with name `"+name+"` already exists.")
			return call{}, true
		}
		tw.collections[name] = schema
		tw.docs[name] = map[string]map[string]any{}
		replyJSON(w, http.StatusCreated, tw.describe(name))
		return call{}, true
	case r.Method == http.MethodGet && len(parts) == 2:
		if _, ok := tw.collections[parts[1]]; !ok {
			msg(http.StatusNotFound, "Not Found")
			return call{}, true
		}
		replyJSON(w, http.StatusOK, tw.describe(parts[1]))
		return call{}, true
	case len(parts) < 3 || parts[2] != "documents":
		msg(http.StatusNotFound, "Not Found")
		return call{}, true
	}
	docs, ok := tw.docs[parts[1]]
	if !ok {
		msg(http.StatusNotFound, "Not found.")
		return call{}, true
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && r.URL.Query().Get("action") == "upsert":
		var doc struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if json.Unmarshal(body, &doc) != nil || doc.ID == "" {
			msg(http.StatusBadRequest, "Bad JSON.")
			return call{}, true
		}
		return call{key: parts[1] + "/" + doc.ID, label: doc.Name}, false
	case r.Method == http.MethodDelete && len(parts) == 4:
		doc, ok := docs[parts[3]]
		if !ok {
			msg(http.StatusNotFound, "Could not find a document with id: "+parts[3])
			return call{}, true
		}
		delete(docs, parts[3])
		replyJSON(w, http.StatusOK, doc)
		return call{}, true
	case r.Method == http.MethodGet && len(parts) == 4 && parts[3] == "search":
		return call{key: parts[1], label: "search", query: true, params: r.URL.Query()}, false
	}
	msg(http.StatusNotFound, "Not Found")
	return call{}, true
}

// describe is a collection as Typesense answers it.
func (tw *typesenseWire) describe(name string) map[string]any {
	out := map[string]any{}
	for k, v := range tw.collections[name] {
		out[k] = v
	}
	out["num_documents"], out["created_at"] = len(tw.docs[name]), 1700000000
	return out
}

func (tw *typesenseWire) accept(c call, _ string, body []byte) {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return
	}
	collection, _, _ := strings.Cut(c.key, "/")
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if docs := tw.docs[collection]; docs != nil {
		docs[fmt.Sprint(doc["id"])] = doc
	}
}

func (tw *typesenseWire) delivered(w http.ResponseWriter, c call, _ string, body []byte) {
	if !c.query {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
		return
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	replyJSON(w, http.StatusOK, searchDocs(tw.docs[c.key], c.params))
}

func (*typesenseWire) failed(w http.ResponseWriter, a Answer, _ call, _ time.Duration) {
	switch a {
	case TooMany: // Typesense sends no Retry-After
		replyJSON(w, http.StatusTooManyRequests, map[string]string{"message": "Rate limit exceeded or blocked"})
	case Reject:
		replyJSON(w, http.StatusBadRequest, map[string]string{"message": "Field `price_paise` must be an int64."})
	default:
		replyJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
	}
}

func (*typesenseWire) newID(n int) string { return fmt.Sprintf("upsert-%d", n) }

// searchDocs answers a search of docs by the query q (Typesense's q,
// query_by, filter_by shop_id:=`x`).
func searchDocs(docs map[string]map[string]any, q url.Values) map[string]any {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	words := strings.Fields(strings.ToLower(get("q")))
	if get("q") == "*" {
		words = nil
	}
	fields := strings.Split(get("query_by"), ",")
	shop := strings.Trim(strings.TrimPrefix(get("filter_by"), "shop_id:="), "`")
	type hit struct {
		Document  map[string]any `json:"document"`
		TextMatch int            `json:"text_match"`
	}
	hits := []hit{}
	for _, d := range docs {
		if shop != "" && d["shop_id"] != shop {
			continue
		}
		score := 0
		for _, w := range words {
			matched := false
			for i, field := range fields {
				s, _ := d[field].(string)
				for _, fw := range strings.Fields(strings.ToLower(s)) {
					if fw == w {
						matched = true
						score += len(fields) - i
					}
				}
			}
			if !matched {
				score = -1
				break
			}
		}
		if score >= 0 {
			hits = append(hits, hit{Document: d, TextMatch: score})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].TextMatch != hits[j].TextMatch {
			return hits[i].TextMatch > hits[j].TextMatch
		}
		a, _ := hits[i].Document["name"].(string)
		b, _ := hits[j].Document["name"].(string)
		return a < b
	})
	return map[string]any{"found": len(hits), "hits": hits, "out_of": len(docs), "page": 1, "search_time_ms": 0, "facet_counts": []any{}}
}
