//go:build !reliability

package reliability

// The short tier: small loads, so plain `go test ./...` guards the suite.
const (
	fullRun        = false
	killOrders     = 120 // orders placed while the worker is killed
	killCount      = 2   // SIGKILLs of the worker
	termUsers      = 200 // welcome emails in flight at SIGTERM
	failureUsers   = 1   // users per failure mode
	rollbackWrites = 300 // writes, a fifth rolled back after Publish
)
