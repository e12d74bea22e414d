package limit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/limit"
)

type shopArgs struct {
	Shop string `json:"shop"`
	N    int    `json:"n"`
}

func (shopArgs) Kind() string { return "shop_job" }

// shopWorker records how many jobs of each shop run at once. The first job
// of shop "a" holds its slot until a job of shop "b" has started, so the
// test sees the other key run meanwhile.
type shopWorker struct {
	river.WorkerDefaults[shopArgs]

	mu       sync.Mutex
	running  map[string]int
	most     map[string]int
	bStarted chan struct{}
	bOnce    sync.Once
}

func (w *shopWorker) Timeout(*river.Job[shopArgs]) time.Duration { return 30 * time.Second }

func (w *shopWorker) Work(ctx context.Context, job *river.Job[shopArgs]) error {
	w.mu.Lock()
	w.running[job.Args.Shop]++
	w.most[job.Args.Shop] = max(w.most[job.Args.Shop], w.running[job.Args.Shop])
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running[job.Args.Shop]--
		w.mu.Unlock()
	}()
	if job.Args.Shop == "b" {
		w.bOnce.Do(func() { close(w.bStarted) })
	}
	if job.Args.Shop == "a" && job.Args.N == 0 {
		select {
		case <-w.bStarted:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// TestWorkerOneRunningJobPerKey works jobs of two shops with two River
// clients (two processes) and a limit of one running job per shop: never
// two jobs of one shop at once, the other shop's jobs run meanwhile, every
// job completes, and no waiting used an attempt.
func TestWorkerOneRunningJobPerKey(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t.Context(), t)
	w := &shopWorker{running: map[string]int{}, most: map[string]int{}, bStarted: make(chan struct{})}
	const perShop = 6
	var clients []*river.Client[pgx.Tx]
	completed := make(chan *rivertype.JobRow, 2*perShop)
	for range 2 {
		workers := river.NewWorkers()
		river.AddWorker(workers, limit.Worker[shopArgs](w, limit.New(pool, nil), 1, func(a shopArgs) string { return "shop:" + a.Shop }))
		c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
			Workers:           workers,
			FetchCooldown:     5 * time.Millisecond,
			FetchPollInterval: 20 * time.Millisecond,
			Logger:            quietLogger(t),
		})
		require.NoError(t, err)
		events, cancel := c.Subscribe(river.EventKindJobCompleted)
		t.Cleanup(cancel)
		go func() {
			for ev := range events {
				completed <- ev.Job
			}
		}()
		clients = append(clients, c)
	}
	var args []river.InsertManyParams
	for i := range perShop {
		args = append(args, river.InsertManyParams{Args: shopArgs{Shop: "a", N: i}}, river.InsertManyParams{Args: shopArgs{Shop: "b", N: i}})
	}
	_, err := clients[0].InsertMany(t.Context(), args)
	require.NoError(t, err)
	for _, c := range clients {
		require.NoError(t, c.Start(t.Context()))
		t.Cleanup(func() { _ = c.Stop(context.WithoutCancel(t.Context())) })
	}

	for range 2 * perShop {
		select {
		case job := <-completed:
			require.Equal(t, 1, job.Attempt, "waiting for a slot uses no attempt")
		case <-t.Context().Done():
			t.Fatal("jobs did not complete")
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Equal(t, map[string]int{"a": 1, "b": 1}, w.most)

	var held int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM limit_slots WHERE released_at IS NULL").Scan(&held))
	require.Zero(t, held, "every slot was released")
}
