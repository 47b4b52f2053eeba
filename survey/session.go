package survey

import "time"

// Console sessions end after SessionIdle without a request, and at the
// latest SessionMax after sign-in, whichever store keeps them.
const (
	SessionIdle = 2 * time.Hour
	SessionMax  = 12 * time.Hour
)
