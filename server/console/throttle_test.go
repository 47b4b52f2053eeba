package console

import (
	"testing"
	"time"
)

// TestThrottleSchedule: a name's first FreeNameFailures failures cost
// nothing; each one after doubles the wait (1 s, 2 s, 4 s …, at most
// maxLockout); a success forgets them; an hour without failures does too.
// The console's HTTP tests (server/console_test.go) drive the same
// throttle through the sign-in page.
func TestThrottleSchedule(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	const name = "name:考核办"
	attempt := func() time.Duration {
		if wait := th.begin(name); wait > 0 {
			return wait
		}
		th.end(true, name)
		return 0
	}
	for i := 1; i <= FreeNameFailures; i++ {
		if wait := attempt(); wait != 0 {
			t.Fatalf("failure %d of %d free: had to wait %s", i, FreeNameFailures, wait)
		}
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		attempt() // allowed now: waits until the next
		if got := th.begin(name); got != want {
			t.Errorf("after %d failures over the free ones: wait %s, want %s", i+1, got, want)
		}
		now = now.Add(want)
	}
	for range 30 {
		attempt()
		now = now.Add(maxLockout)
	}
	attempt()
	if got := th.begin(name); got != maxLockout {
		t.Errorf("after many failures: wait %s, want the cap %s", got, maxLockout)
	}

	th.reset(name)
	if got := th.begin(name); got != 0 {
		t.Errorf("after a success: wait %s, want none", got)
	}
	th.end(false, name)

	other := "name:admin"
	for range FreeNameFailures + 1 {
		th.begin(other)
		th.end(true, other)
	}
	now = now.Add(forgetAfter + time.Minute)
	if got := th.begin(other); got != 0 {
		t.Errorf("an hour after the last failure: wait %s, want none", got)
	}
}
