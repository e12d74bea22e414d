package httpapi

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mohallamart/backend/apperr"
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
