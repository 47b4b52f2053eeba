//go:build !unix

package main

import "time"

// lockDatabase does nothing where flock is not available.
func lockDatabase(string) (func(), error) { return func() {}, nil }

// processCPU is not measured here: the bench prints no CPU per request.
func processCPU() time.Duration { return 0 }
