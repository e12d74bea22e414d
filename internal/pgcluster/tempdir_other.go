//go:build !linux

package pgcluster

// inMemory reports false: outside Linux no directory is known to be in
// memory.
func inMemory(string, uint64) bool { return false }
