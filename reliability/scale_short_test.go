//go:build !reliability

package reliability

import "time"

// The short tier: small loads, so plain `go test ./...` guards the suite.
const (
	fullRun            = false
	killOrders         = 120             // orders placed while the worker is killed
	killCount          = 2               // SIGKILLs of the worker
	killTimeout        = 5 * time.Second // TEST_MAX_JOB_TIMEOUT: River rescues a killed worker's jobs this long after their start, at its next 30 s round
	termUsers          = 200             // welcome emails in flight at SIGTERM
	failureUsers       = 1               // messages per provider and failure mode
	rollbackWrites     = 300             // writes, a fifth rolled back after Publish
	restartRate        = 50              // orders a second while PostgreSQL restarts
	restartOrders      = 10              // orders acknowledged before each restart and after the last
	leaderKills        = 1               // SIGKILLs of the leading worker
	soakRate           = 10              // orders a second in the soak
	soakFor            = 10 * time.Second
	soakWarmup         = 2 * time.Second // left out of the RSS and goroutine comparison
	soakSample         = 250 * time.Millisecond
	analyticsBatchWait = time.Second // ANALYTICS_BATCH_WAIT: a track_analytics run starts this long after its batch's first event (the server's default is 5 s): the scenarios wait for batches one after the other
	flatWithin         = 0.5         // a soaked process's second-half RSS and goroutines over its first half's: 10 s tell a leak from a warm-up only when it is gross
)

// restartModes are the pg_ctl restart modes, in order.
var restartModes = []string{"fast", "immediate"} //nolint:gochecknoglobals // a constant list

// mixpanelModes are the failures scenario 3 sends Mixpanel, one batch
// after the other (see providerModes): 429s, slow and hung answers, which
// the other providers get, are left to the full run.
var mixpanelModes = []string{"t500", "treset", "tlost", "dead"} //nolint:gochecknoglobals // a constant list
