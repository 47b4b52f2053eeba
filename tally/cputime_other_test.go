//go:build !unix

package tally

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
