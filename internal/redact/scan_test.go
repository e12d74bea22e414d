package redact

import "testing"

// FuzzStringSkipsOnlyWhatCannotMatch checks String's look before its
// patterns: on any input it answers as running every pattern would.
func FuzzStringSkipsOnlyWhatCannotMatch(f *testing.F) {
	for _, s := range []string{
		"send email to asha@example.com: refused",
		"to +91 98765 43210 and +1 (555) 010-4477",
		"numbers 9876543210,9123456780 failed",
		"user 6f1c2a7e-1b7e-4c1e-9d2a-123456789012 not found",
		"12345678901234567890@a.bc+19876543210",
		"अनु@उदाहरण.भारत ९८७६५४३२१० 9876543210",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := String(s), everyPattern(s); got != want {
			t.Fatalf("String(%q) = %q, every pattern gives %q", s, got, want)
		}
	})
}

// everyPattern is String without its look: every pattern, on every input.
func everyPattern(s string) string { return replace(s, true, true, true) }

// BenchmarkString measures String on what analytics sends of an order (ids
// and a status, no personal data) against running every pattern.
func BenchmarkString(b *testing.B) {
	values := []string{"6f1c2a7e-1b7e-4c1e-9d2a-123456789012", "9b2d4e6f-0a1c-4e3b-8d7f-5a6b7c8d9e0f", "placed", "order/created"}
	for _, bb := range []struct {
		name string
		f    func(string) string
	}{{"String", String}, {"every pattern", everyPattern}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				for _, v := range values {
					bb.f(v)
				}
			}
		})
	}
}
