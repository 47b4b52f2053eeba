package survey

import "time"

// WriterStats is what a store's ballot writer has done since the store
// opened: group commits, the submissions they carried (stored or refused),
// and the time spent committing them. Totals only, for measuring load;
// nothing in them is per voter.
type WriterStats struct {
	Commits, Submissions int64
	Busy                 time.Duration
}
