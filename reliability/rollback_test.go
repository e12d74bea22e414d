package reliability

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobs"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

// errInjected is the failure injected after Publish.
var errInjected = errors.New("injected failure after publish")

// failAfterPublish publishes for real, then fails when fail says so: the
// write's transaction must then roll back its rows, event and jobs.
type failAfterPublish struct {
	next mart.Publisher
	fail func(evs []events.Event) bool
}

func (p failAfterPublish) Publish(ctx context.Context, tx pgx.Tx, evs ...events.Event) ([]string, error) {
	ids, err := p.next.Publish(ctx, tx, evs...)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if p.fail(evs) {
		return nil, errInjected
	}
	return ids, nil
}

// TestRolledBackWrites creates users in-process through mart and the
// outbox (routing to the server's functions), a fifth of them failing after
// Publish: the committed ones each have their event, welcome email job and
// analytics row; the rolled-back ones have none, and no job names an event
// that is not stored.
func TestRolledBackWrites(t *testing.T) {
	t.Parallel()
	var figures string
	record(t, fmt.Sprintf("7. %d writes, a fifth rolled back after Publish", rollbackWrites), &figures)
	pool := dbtest.NewPool(t.Context(), t)
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rolledBack := func(email string) bool {
		var i int
		_, _ = fmt.Sscanf(email, "w%d@example.com", &i)
		return i%5 == 0
	}
	reg, err := jobs.NewRegistry(jobs.Deps{DB: pool})
	if err != nil {
		t.Fatal(err)
	}
	svc := mart.NewService(pool, failAfterPublish{next: outbox.New(client, reg), fail: func(evs []events.Event) bool {
		for _, ev := range evs {
			p, err := events.Decode(ev)
			if u, ok := p.(events.UserCreated); err == nil && ok && rolledBack(u.Email) {
				return true
			}
		}
		return false
	}})
	var (
		mu        sync.Mutex
		committed []string
		failed    []string
		wg        sync.WaitGroup
	)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				email := fmt.Sprintf("w%d@example.com", i)
				u, err := svc.CreateUser(t.Context(), mart.CreateUserParams{Email: email, Name: "W"})
				mu.Lock()
				switch {
				case err == nil && !rolledBack(email):
					committed = append(committed, u.ID)
				case errors.Is(err, errInjected) && rolledBack(email):
					failed = append(failed, email)
				default:
					t.Errorf("create %s: %v", email, err)
				}
				mu.Unlock()
			}
		})
	}
	for i := range rollbackWrites {
		next <- i
	}
	close(next)
	wg.Wait()

	q := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
			t.Fatalf("audit %q: %v", sql, err)
		}
		return n
	}
	users := q("SELECT count(*) FROM users WHERE id::text = ANY($1)", committed)
	ghostUsers := q("SELECT count(*) FROM users WHERE email = ANY($1)", failed)
	ghostEvents := q("SELECT count(*) FROM events WHERE data->>'email' = ANY($1)", failed)
	withoutJob := q(`SELECT count(*) FROM events e WHERE e.name = 'user/created' AND
		(SELECT count(*) FROM river_job j WHERE j.kind = 'send_welcome_email' AND j.args->>'event_id' = e.id) <> 1`)
	nEvents := q("SELECT count(*) FROM events")
	welcomes := q("SELECT count(*) FROM river_job WHERE kind = 'send_welcome_email'")
	ghostJobs := q(`SELECT count(*) FROM river_job j WHERE j.args ? 'event_id' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = j.args->>'event_id')`)
	pending := q("SELECT count(*) FROM analytics_pending p JOIN events e ON e.id = p.event_id")
	ghostPending := q("SELECT count(*) FROM analytics_pending p WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id)")
	if users != len(committed) || ghostUsers != 0 || ghostEvents != 0 || withoutJob != 0 || ghostJobs != 0 || ghostPending != 0 ||
		nEvents != len(committed) || welcomes != len(committed) || pending != len(committed) {
		t.Errorf("committed %d (stored %d), rolled back %d (users %d, events %d, jobs %d, analytics rows %d); events %d, welcome jobs %d, analytics rows %d, events without exactly one welcome job %d",
			len(committed), users, len(failed), ghostUsers, ghostEvents, ghostJobs, ghostPending, nEvents, welcomes, pending, withoutJob)
	}
	figures = fmt.Sprintf("%d committed, %d rolled back; events %d, welcome jobs %d, analytics rows %d; of the rolled back: %d users, %d events, %d jobs, %d analytics rows",
		len(committed), len(failed), nEvents, welcomes, pending, ghostUsers, ghostEvents, ghostJobs, ghostPending)
}
