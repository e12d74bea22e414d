package limit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/limit"
)

// full requires err to be a *limit.FullError that snoozes a River job for
// its Wait, and returns it.
func full(t *testing.T, err error) *limit.FullError {
	t.Helper()
	var fe *limit.FullError
	require.ErrorAs(t, err, &fe)
	require.True(t, limit.IsFull(err))
	var snooze *rivertype.JobSnoozeError
	require.ErrorAs(t, err, &snooze, "a River worker returning it snoozes the job")
	require.Equal(t, fe.Wait, snooze.Duration)
	require.Positive(t, fe.Wait)
	return fe
}

// age moves key's slots back in time by d: as if d had passed.
func age(t *testing.T, pool *pgxpool.Pool, key string, d time.Duration) {
	t.Helper()
	_, err := pool.Exec(t.Context(), `UPDATE limit_slots
		SET granted_at = granted_at - $2::float8 * interval '1 second',
		    released_at = released_at - $2::float8 * interval '1 second',
		    expires_at = expires_at - $2::float8 * interval '1 second'
		WHERE key = $1`, key, d.Seconds())
	require.NoError(t, err)
}

func TestConcurrencySlots(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	// Two limiters: two processes sharing the database.
	a, b := limit.New(pool, nil), limit.New(pool, nil)
	rule := limit.Rule{Key: "shop:1", Concurrency: 2, Lease: time.Minute}

	s1, err := a.Acquire(t.Context(), rule, 1)
	require.NoError(t, err)
	s2, err := b.Acquire(t.Context(), rule, 2)
	require.NoError(t, err)
	_, err = a.Acquire(t.Context(), rule, 3)
	fe := full(t, err)
	require.Equal(t, "shop:1", fe.Key)
	require.LessOrEqual(t, fe.Wait, 250*time.Millisecond*5/4+time.Millisecond, "a held slot is asked for again soon, not after its lease")

	// Another key has its own capacity.
	_, err = b.Acquire(t.Context(), limit.Rule{Key: "shop:2", Concurrency: 2, Lease: time.Minute}, 4)
	require.NoError(t, err)

	require.NoError(t, s1.Release(t.Context()))
	require.NoError(t, s1.Release(t.Context()), "releasing twice is harmless")
	s3, err := b.Acquire(t.Context(), rule, 3)
	require.NoError(t, err, "a released slot frees its place at once")
	_, err = a.Acquire(t.Context(), rule, 5)
	full(t, err)

	// Visible with SQL: which jobs hold the key's slots.
	var holders []int64
	rows, err := pool.Query(t.Context(), "SELECT job_id FROM limit_slots WHERE key = 'shop:1' AND released_at IS NULL ORDER BY job_id")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		holders = append(holders, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{2, 3}, holders)
	require.NoError(t, s2.Release(t.Context()))
	require.NoError(t, s3.Release(t.Context()))
}

func TestLeaseEndsSlotOfDeadHolder(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	l := limit.New(pool, nil)
	rule := limit.Rule{Key: "resend", Concurrency: 1, Lease: 30 * time.Second}
	_, err := l.Acquire(t.Context(), rule, 1) // never released: its process died
	require.NoError(t, err)
	_, err = l.Acquire(t.Context(), rule, 2)
	full(t, err)

	age(t, pool, "resend", 31*time.Second)
	_, err = l.Acquire(t.Context(), rule, 2)
	require.NoError(t, err, "the dead holder's slot ended with its lease")
}

func TestRateCountsUntilAPeriodAfterRelease(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	l := limit.New(pool, nil)
	rule := limit.Rule{Key: "twilio", Rate: 3, Per: 10 * time.Second, Lease: time.Minute}

	var slots []*limit.Slot
	for i := range 3 {
		s, err := l.Acquire(t.Context(), rule, int64(i+1))
		require.NoError(t, err)
		slots = append(slots, s)
	}
	_, err := l.Acquire(t.Context(), rule, 4)
	fe := full(t, err)
	require.GreaterOrEqual(t, fe.Wait, 10*time.Second, "held slots count for a whole period after they end")

	for _, s := range slots {
		require.NoError(t, s.Release(t.Context()))
	}
	_, err = l.Acquire(t.Context(), rule, 4)
	fe = full(t, err)
	require.LessOrEqual(t, fe.Wait, 10*time.Second*5/4+time.Millisecond)

	age(t, pool, "twilio", 6*time.Second)
	_, err = l.Acquire(t.Context(), rule, 4)
	fe = full(t, err)
	require.LessOrEqual(t, fe.Wait, 4*time.Second*5/4+time.Millisecond, "the wait ends when the first slot stops counting")
	require.GreaterOrEqual(t, fe.Wait, 3*time.Second)

	age(t, pool, "twilio", 5*time.Second)
	for i := range 3 {
		_, err := l.Acquire(t.Context(), rule, int64(5+i))
		require.NoError(t, err, "a period after their release, the slots no longer count")
	}
	var left int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM limit_slots WHERE key = 'twilio'").Scan(&left))
	require.Equal(t, 3, left, "slots that no longer count are deleted")
}

// TestConcurrentAcquiresGrantNoMore races many acquirers on separate
// connections: the advisory lock lets exactly the limit through.
func TestConcurrentAcquiresGrantNoMore(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	rule := limit.Rule{Key: "onesignal", Concurrency: 3, Rate: 5, Lease: time.Minute}
	const n = 24
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		granted, denied int
		start           = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			l := limit.New(pool, nil)
			<-start
			_, err := l.Acquire(t.Context(), rule, int64(i+1))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				granted++
			case limit.IsFull(err):
				denied++
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, 3, granted)
	require.Equal(t, n-3, denied)
}

func TestRuleChecked(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	l := limit.New(pool, nil)
	for _, r := range []limit.Rule{
		{Concurrency: 1, Lease: time.Second},
		{Key: "k", Concurrency: -1, Lease: time.Second},
		{Key: "k", Concurrency: 1},
	} {
		_, err := l.Acquire(t.Context(), r, 1)
		require.Error(t, err)
		require.False(t, limit.IsFull(err))
	}
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM limit_slots").Scan(&n))
	require.Zero(t, n)
}
