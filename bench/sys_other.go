//go:build !unix

package bench

import "time"

// processCPU is not measured here: the bench prints no CPU per request.
func processCPU() time.Duration { return 0 }
