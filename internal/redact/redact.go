// Package redact removes personal data (email addresses and phone numbers)
// from text that leaves the code that needed it: error messages stored with
// River jobs (and so shown by River UI and GET /v1/events/{id}), sent in
// failed-job alerts, or logged. Providers often echo the recipient in their
// error answers ("The 'To' number +919876543210 is not a valid phone
// number."); what is kept of such a message is its explanation, not the
// address.
package redact

import "regexp"

// What an email address or phone number is replaced with.
const (
	Email = "[email]"
	Phone = "[phone]"
)

// Patterns, compiled once (regexp.Regexp is safe for concurrent use).
var (
	// emailPattern is an address's local part (RFC 5322 atext and dots, no
	// slash, so a Go module path such as river@v0.51.2/... in a stack trace
	// is not taken for one) and a domain whose last label is letters.
	emailPattern = regexp.MustCompile(`[\p{L}\p{M}\p{N}!#$%&'*+=?^_{|}~.-]+@(?:[\p{L}\p{M}\p{N}-]+\.)+[\p{L}\p{M}]{2,}`) //nolint:gochecknoglobals // a constant pattern
	// intlPhonePattern is an international number: "+", then 8 to 15
	// digits, each optionally after one space, dot, hyphen or parenthesis
	// ("+91 98765 43210", "+1 (555) 010-4477").
	intlPhonePattern = regexp.MustCompile(`\+\d(?:[ ().-]{0,2}\d){7,14}`) //nolint:gochecknoglobals // a constant pattern
	// localPhonePattern is a run of 10 to 15 digits that is not part of a
	// longer word, number or hyphenated id (a UUID's last group can be all
	// digits): "9876543210". Group 1 and 3 are the characters around it.
	localPhonePattern = regexp.MustCompile(`(^|[^\p{L}\p{N}_-])(\d{10,15})($|[^\p{L}\p{N}_-])`) //nolint:gochecknoglobals // a constant pattern
)

// String returns s with every email address replaced by [Email] and every
// phone number by [Phone]. It is idempotent.
func String(s string) string {
	// Each pattern is run only on a string that can hold a match: an email
	// address has an '@', an international number a '+', a local one a run
	// of ten digits (\d is ASCII). A replacement adds none of them and
	// joins no digits, so the look at s before any replacement holds after.
	at, plus, digits := scan(s)
	return replace(s, at, plus, digits)
}

// scan reports whether s has an '@', a '+', and a run of ten ASCII digits.
func scan(s string) (at, plus, digits bool) {
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			run++
			digits = digits || run >= 10
			continue
		case c == '@':
			at = true
		case c == '+':
			plus = true
		}
		run = 0
	}
	return at, plus, digits
}

// replace runs the patterns String's look found s may match: emailPattern
// when email, intlPhonePattern when intl, localPhonePattern when local.
func replace(s string, email, intl, local bool) string {
	if email {
		s = emailPattern.ReplaceAllString(s, Email)
	}
	if intl {
		s = intlPhonePattern.ReplaceAllString(s, Phone)
	}
	if local {
		// A separator ends one match and cannot start the next, so digits
		// separated by one character need a second pass.
		for range 2 {
			s = localPhonePattern.ReplaceAllString(s, "${1}"+Phone+"${3}")
		}
	}
	return s
}

// Error returns err with its message redacted by String; errors.Is and
// errors.As see through it to err (so a river.JobCancel or river.JobSnooze
// error keeps its meaning). It returns nil for nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return &redacted{err: err}
}

// redacted is an error whose message is redacted.
type redacted struct{ err error }

func (e *redacted) Error() string { return String(e.err.Error()) }

func (e *redacted) Unwrap() error { return e.err }
