package events

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// What PostgreSQL refuses to store in text and jsonb, as failure messages.
const (
	msgNUL    = `must not contain the NUL character (\u0000)`
	msgNULKey = `must not have a key containing the NUL character (\u0000)`
	msgUTF8   = "must be valid UTF-8"
)

// PostgreSQL's numeric type (which jsonb numbers are) holds at most this
// many digits before the decimal point and this many after it.
const (
	numericMaxWeight = 131071 // the decimal weight of the leading digit
	numericMaxScale  = 16383
)

// TextProblem says why PostgreSQL cannot store s in a text column ("must
// not contain the NUL character (\u0000)" or "must be valid UTF-8"), or
// returns "" when it can. Event names and ids are stored as text.
func TextProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return msgNUL
	case !utf8.ValidString(s):
		return msgUTF8
	}
	return ""
}

// JSONTextProblem says why PostgreSQL cannot store the JSON text raw as jsonb
// although Go decodes it: invalid UTF-8 (Go substitutes U+FFFD) or an
// unpaired UTF-16 surrogate escape such as \ud800 (likewise). raw is valid
// JSON. The NUL character and numbers are checked on the decoded value,
// where their path is known. The REST API refuses such bodies too, instead
// of storing the replacement character.
func JSONTextProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return msgUTF8
	}
	if unpairedSurrogate(raw) {
		return `must not contain an unpaired surrogate escape (\ud800 to \udfff)`
	}
	return ""
}

// unpairedSurrogate reports whether the valid JSON text raw has a \uXXXX
// escape in the surrogate range that is not a high surrogate followed by a
// low one. Backslashes occur in JSON only inside strings, as escapes.
func unpairedSurrogate(raw []byte) bool {
	for i := bytes.IndexByte(raw, '\\'); i >= 0; {
		switch {
		case raw[i+1] != 'u':
			i += 2
		default:
			r := hex4(raw[i+2 : i+6])
			switch {
			case r < 0xD800 || r > 0xDFFF:
			case r >= 0xDC00:
				return true // a low surrogate first
			case i+12 > len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u':
				return true // a high surrogate alone
			default:
				if low := hex4(raw[i+8 : i+12]); low < 0xDC00 || low > 0xDFFF {
					return true
				}
				i += 6
			}
			i += 6
		}
		next := bytes.IndexByte(raw[i:], '\\')
		if next < 0 {
			return false
		}
		i += next
	}
	return false
}

// hex4 decodes the 4 hex digits of a valid \u escape.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// numericFits reports whether PostgreSQL's numeric type, and so jsonb, can
// hold the JSON number s: at most 131072 digits before the decimal point
// (zero aside) and 16383 after it, counting the exponent.
func numericFits(s string) bool {
	mantissa, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		var err error
		exp, err = strconv.Atoi(expText)
		if err != nil || exp > 1<<30 || exp < -(1<<30) {
			return false
		}
	}
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(mantissa, "-"), ".")
	if len(frac)-exp > numericMaxScale {
		return false
	}
	// The decimal weight of the leading significant digit: 0 for units.
	if significant := strings.TrimLeft(intPart, "0"); significant != "" {
		return len(significant)-1+exp <= numericMaxWeight
	}
	significant := strings.TrimLeft(frac, "0")
	if significant == "" {
		return true // zero: its weight does not count
	}
	return len(significant)-len(frac)-1+exp <= numericMaxWeight
}
