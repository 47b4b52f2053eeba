//go:build !unix

package server

// lockDatabase does nothing where flock is not available.
func lockDatabase(string) (func(), error) { return func() {}, nil }
