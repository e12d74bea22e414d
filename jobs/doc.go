// Package jobs holds MohallaMart's background functions as River job kinds:
// one file per function with its args (Kind, InsertOpts) and worker, the
// queues they run in, and Route, the table that says which jobs each event
// triggers.
//
// Kinds are stored in river_job rows: never rename one. Every event-triggered
// job's args carry event_id, so the jobs of one event can be found with SQL:
//
//	SELECT id, kind, state FROM river_job WHERE args->>'event_id' = '01J...';
package jobs
