package fn

import (
	"time"

	"github.com/riverqueue/river"
)

// Args are the args of every function's River jobs (a run). The kind is the
// function's, not stored in the args.
type Args struct {
	kind    string
	aliases []string

	// EventID is the trigger event; none for a scheduled run, a batch or a
	// debounce (their events are taken when the run starts).
	EventID string `json:"event_id,omitempty"`
	// Key is the key value that makes runs one: singleton, debounce, batch.
	Key string `json:"key,omitempty" river:"unique"`
	// V is the function's version when the run was enqueued.
	V int `json:"v,omitempty"`
	// CK is the trigger event's value at the function's cancelOn match
	// path.
	CK string `json:"ck,omitempty"`
	// Period is the period a scheduled run is for.
	Period *time.Time `json:"period,omitempty" river:"unique"`
	// Failed is the run that failed, for an onFailure run.
	Failed *FailedRun `json:"failed,omitempty" river:"unique"`
}

// FailedRun names a run that failed for good, for its onFailure run.
type FailedRun struct {
	JobID int64  `json:"job_id"`
	Error string `json:"error"`
}

// Kind is the function's River kind.
func (a Args) Kind() string { return a.kind }

// KindAliases are older kinds of the function, still worked.
func (a Args) KindAliases() []string { return a.aliases }

var _ river.JobArgsWithKindAliases = Args{}
