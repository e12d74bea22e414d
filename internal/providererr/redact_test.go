package providererr_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/providererr"
)

// TestErrorsRedactRecipients: whatever a provider echoes of the recipient
// does not reach the error's text, which River stores and alerts quote.
func TestErrorsRedactRecipients(t *testing.T) {
	t.Parallel()
	for _, code := range []int{422, 429, 503} {
		err := providererr.FromStatus("p", code, time.Second, "asha@example.com and +919876543210 are refused")
		require.Contains(t, err.Error(), "[email] and [phone] are refused", code)
		require.NotContains(t, err.Error(), "asha@example.com", code)
		require.NotContains(t, err.Error(), "9876543210", code)
	}
	built := &providererr.PermanentError{Provider: "onesignal", StatusCode: 200, Message: "no subscriber 9876543210"}
	require.Equal(t, "onesignal rejected the message (HTTP 200): no subscriber [phone]", built.Error())
}
