//go:build reliability

package reliability

// The full run (`make reliability`).
const (
	fullRun        = true
	killOrders     = 2000
	killCount      = 10
	termUsers      = 1000
	failureUsers   = 5
	rollbackWrites = 2000
)
