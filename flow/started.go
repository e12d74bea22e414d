package flow

import "context"

// Started reports whether an earlier run of the job in ctx recorded a
// step: the job's function has started.
func Started(ctx context.Context) (bool, error) {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(ctx); err != nil {
		return false, err
	}
	return len(r.steps) > 0, nil
}
