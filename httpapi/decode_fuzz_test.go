package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/events"
)

// FuzzDecodeBody feeds arbitrary bodies to the REST decoder (as for POST
// /v1/products and POST /v1/users): it never panics, every refusal is a
// client error (invalid or too large) with a sentence, and what it accepts
// was valid UTF-8 and holds no string with the NUL character, so PostgreSQL
// stores what was sent.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.com","name":"A","phone":"+919800000001"}`,
		`{"shopId":"s","name":"Atta","pricePaise":24900,"stock":10}`,
		`{"name":"a\u0000"}`, `{"name":"\ud800"}`, "{\"name\":\"\xff\"}", `{"pricePaise":1e400}`,
		`{"bogus":1}`, `[]`, ``, `{"stock":"1"}`, `{"name":"x"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(v any, strs func() []string) {
			r := httptest.NewRequest("POST", "/v1/x", bytes.NewReader(body))
			err := decodeBody(httptest.NewRecorder(), r, v, false)
			if err != nil {
				var ae *apperr.Error
				if !errors.As(err, &ae) || (ae.Code != apperr.Invalid && ae.Code != apperr.TooLarge) || ae.Message == "" {
					t.Fatalf("decodeBody(%q): %v is not a client error with a sentence", body, err)
				}
				return
			}
			if !utf8.Valid(body) {
				t.Fatalf("decodeBody(%q) accepted invalid UTF-8, which it would store altered", body)
			}
			for _, s := range strs() {
				if strings.ContainsRune(s, 0) {
					t.Fatalf("decodeBody(%q) accepted %q, which PostgreSQL cannot store", body, s)
				}
			}
		}
		var p createProductBody
		check(&p, func() []string {
			return []string{p.ShopID, p.Name, p.Description, p.Category}
		})
		var u createUserBody
		check(&u, func() []string { return []string{u.Email, u.Name} })
	})
}

// FuzzDecodeEvents feeds arbitrary bodies to the event API's decoder, whole
// or cut short (the connection ends before the body does): it never panics,
// every refusal is a client error (invalid or too large) with a sentence,
// and the events it accepts, once the catalog accepts them too, were sent
// as valid UTF-8 with no NUL in what is stored, and a ts that is none or in
// the years 2000 to 9999, so PostgreSQL stores what was sent.
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		`{"name":"user/created","data":{"userId":"6f1c2a7e-1b7e-4c1e-9d2a-0c3b5e8f1a21","email":"a@example.com","name":"A"}}`,
		`[{"name":"app/x","id":"a","ts":1735689600000,"user":{"id":"u"},"v":"1"},{"name":"app/y","ts":"2025-01-01T00:00:00Z"}]`,
		`{"name":"app/x","ts":9300000000000000}`, `{"name":"app/x","ts":9223372036854775807}`,
		`{"name":"app/x","ts":"0001-01-01T00:00:00Z"}`, "{\"name\":\"app/\xff\"}", `{"name":"app/\udfff"}`,
		`{"name":"user/deleted","data":{"userId":"not-a-uuid"}}`, `{"name":"app/x","v":"\u0000","user":{"a\u0000":1}}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"name":"app/x","id":"cut-short"}`), true)
	f.Fuzz(func(t *testing.T, body []byte, cut bool) {
		var rd io.Reader = bytes.NewReader(body)
		if cut {
			rd = io.MultiReader(rd, iotest.ErrReader(io.ErrUnexpectedEOF))
		}
		r := httptest.NewRequest("POST", "/v1/events", rd)
		evs, _, err := decodeEvents(httptest.NewRecorder(), r)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || (ae.Code != apperr.Invalid && ae.Code != apperr.TooLarge) || ae.Message == "" {
				t.Fatalf("decodeEvents(%q, cut %v): %v is not a client error with a sentence", body, cut, err)
			}
			return
		}
		if cut {
			t.Fatalf("decodeEvents accepted a body cut short: %q", body)
		}
		if events.ValidateAll(evs) != nil {
			return // refused by Publish, before anything is stored
		}
		if !utf8.Valid(body) {
			t.Fatalf("decodeEvents(%q) accepted invalid UTF-8, which it would store altered", body)
		}
		for _, ev := range evs {
			if strings.ContainsRune(ev.Name+ev.ID+ev.Source, 0) {
				t.Fatalf("decodeEvents(%q) accepted %q, which PostgreSQL cannot store", body, ev.Name+ev.ID)
			}
			if !ev.TS.IsZero() && events.TSProblem(ev.TS) != "" {
				t.Fatalf("decodeEvents(%q) accepted ts %v", body, ev.TS)
			}
		}
	})
}
