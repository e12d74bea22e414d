package outbox_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestInsertSideDependencies: what publishes events links no worker, no
// provider client and no HTTP code. The outbox is what an application
// imports to publish in its own transactions; httpapi is the api role's
// code path (a ROLE=api process inserts jobs and works none).
func TestInsertSideDependencies(t *testing.T) {
	t.Parallel()
	const mod = "github.com/mohallamart/backend/"
	workersAndProviders := []string{
		mod + "jobs", mod + "notify", mod + "analytics", mod + "search/typesense", mod + "internal/providererr",
		"github.com/resend/resend-go", "github.com/twilio/twilio-go", "github.com/typesense/typesense-go",
	}
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"../outbox", append(workersAndProviders, mod+"httpapi", mod+"mart", "net/http")},
		{"../httpapi", workersAndProviders},
	}
	for _, tt := range tests {
		out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", tt.pkg).Output()
		require.NoError(t, err, "go list -deps %s", tt.pkg)
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tt.forbidden {
				require.False(t, dep == f || strings.HasPrefix(dep, f+"/"), "%s depends on %s", tt.pkg, dep)
			}
		}
	}
}
