package logctx_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/logctx"
	"github.com/mohallamart/backend/internal/testserver"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// logArgs is a test job whose worker logs one line.
type logArgs struct{}

func (logArgs) Kind() string { return "log_test" }

// TestJobMiddleware works a job through a real River client with
// JobMiddleware: the line its worker logs names the job's id and kind.
func TestJobMiddleware(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	var buf testserver.Buffer
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
