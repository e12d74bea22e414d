package reliability

import (
	"testing"
	"time"

	"github.com/mohallamart/backend/internal/providerfake"
)

// slowFor is how long a Slow answer of the suite's fakes waits unless
// SetSlow says otherwise: less than the suite's PROVIDER_TIMEOUT.
const slowFor = time.Second

// provider is a fake outside service as the audit and the leak scan read
// it.
type provider interface {
	Name() string
	Counts() providerfake.Counts
	Bodies() string
}

// fakeOptions are the options of a fake of the suite: the credentials the
// servers are configured with (the leak scan looks for them), script
// (nil: every request OK), and keep, which keeps the request bodies for
// the leak scan.
func fakeOptions(script providerfake.Script, keep bool) providerfake.Options {
	return providerfake.Options{Script: script, Record: keep, Slow: slowFor}
}

// started closes f when the test ends.
func started[F interface{ Close() }](t *testing.T, f F) F {
	t.Helper()
	t.Cleanup(f.Close)
	return f
}

// newFakeResend starts a Resend fake with the suite's API key and sender;
// its label is the recipient.
func newFakeResend(t *testing.T, script providerfake.Script, keep bool) *providerfake.Resend {
	o := fakeOptions(script, keep)
	o.Key, o.From = resendKey, emailFromEnv
	return started(t, providerfake.NewResend(o))
}

// newFakeMixpanel starts a Mixpanel fake with the suite's token; its label
// is the batch's "mp-…" event.
func newFakeMixpanel(t *testing.T, script providerfake.Script, keep bool) *providerfake.Mixpanel {
	o := fakeOptions(script, keep)
	o.Key = mixpanelTok
	return started(t, providerfake.NewMixpanel(o))
}
