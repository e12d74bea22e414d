package flow_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies: flow sits below the workers and beside the outbox
// (which imports it to wake waiting jobs), so it links no worker, provider,
// HTTP code or outbox.
func TestDependencies(t *testing.T) {
	t.Parallel()
	const mod = "github.com/mohallamart/backend/"
	forbidden := []string{
		mod + "jobs", mod + "notify", mod + "search", mod + "analytics", mod + "httpapi", mod + "mart", mod + "outbox",
		mod + "internal/providererr", "net/http",
	}
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			require.False(t, dep == f || strings.HasPrefix(dep, f+"/"), "flow depends on %s", dep)
		}
	}
}
