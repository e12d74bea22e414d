package limit_test

import (
	"log/slog"
	"testing"

	"github.com/mohallamart/backend/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
