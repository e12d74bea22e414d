//go:build reliability

package reliability

import "time"

// The full run (`make reliability`).
const (
	fullRun            = true
	killOrders         = 2000
	killCount          = 10
	killTimeout        = 30 * time.Second // TEST_MAX_JOB_TIMEOUT: the sends' own timeout, so the rescue takes as long as in production
	termUsers          = 1000
	failureUsers       = 5
	rollbackWrites     = 2000
	restartRate        = 50
	restartOrders      = 500 // 10 s of orders between restarts
	leaderKills        = 10
	soakRate           = 150 // a third of the 451 confirmations/s bench/results.md measured
	soakFor            = 10 * time.Minute
	soakWarmup         = time.Minute
	soakSample         = 5 * time.Second
	analyticsBatchWait = 5 * time.Second // ANALYTICS_BATCH_WAIT: the server's default
	flatWithin         = 0.10            // a soaked process's second-half RSS and goroutines over its first half's
)

// restartModes are the pg_ctl restart modes, in order.
var restartModes = []string{"fast", "immediate", "fast", "immediate", "fast", "immediate"} //nolint:gochecknoglobals // a constant list

// mixpanelModes are the failures scenario 3 sends Mixpanel, one batch
// after the other (see providerModes).
var mixpanelModes = []string{"t500", "t429", "tslow", "thang", "treset", "tlost", "dead"} //nolint:gochecknoglobals // a constant list
