package logctx_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/logctx"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// logArgs is a test job whose worker logs one line.
type logArgs struct{}

func (logArgs) Kind() string { return "log_test" }

// syncBuffer is a bytes.Buffer safe for the worker's goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestJobMiddleware works a job through a real River client with
// JobMiddleware: the line its worker logs names the job's id and kind.
func TestJobMiddleware(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	var buf syncBuffer
	logger := slog.New(logctx.NewHandler(slog.NewTextHandler(&buf, nil)))

	workers := river.NewWorkers()
	worked := make(chan struct{})
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, _ *river.Job[logArgs]) error {
		logger.InfoContext(ctx, "Working")
		close(worked)
		return nil
	}))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:     slog.New(slog.DiscardHandler),
		Queues:     map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers:    workers,
		Middleware: []rivertype.Middleware{&logctx.JobMiddleware{}},
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { require.NoError(t, client.Stop(context.WithoutCancel(ctx))) })

	res, err := client.Insert(ctx, logArgs{}, nil)
	require.NoError(t, err)
	<-worked
	require.Contains(t, buf.String(), `msg=Working job_id=`+strconv.FormatInt(res.Job.ID, 10)+` job_kind=log_test`)
}
