package console

import (
	"strings"
	"sync"
	"time"
)

// throttle slows down password guessing: after a key (an account name or a
// client address) has failed more than its free attempts, each further
// attempt must wait, twice as long after every failure, up to maxLockout.
// Addresses get more free attempts than names, because behind an intranet
// NAT a whole building may share one.
type throttle struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*strikes
}

type strikes struct {
	failures int
	pending  int       // attempts under way, not yet known to fail
	until    time.Time // no attempt before this
	last     time.Time
}

const (
	FreeNameFailures = 5 // failed sign-ins of one name before each next one must wait
	freeAddrFailures = 20
	maxLockout       = 15 * time.Minute
	forgetAfter      = time.Hour // failures older than this are forgotten
	maxThrottled     = 100000
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, entries: map[string]*strikes{}}
}

func freeFailures(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return freeAddrFailures
	}
	return FreeNameFailures
}

// begin reserves an attempt for the keys, or says how long to wait first.
// It refuses while a key is locked out, and while the key's failures plus
// the attempts already under way would use up its free attempts: parallel
// guesses cannot all slip through before the first of them is counted. A
// reserved attempt ends with end.
func (t *throttle) begin(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok {
			continue
		}
		failures := e.failures
		if now.Sub(e.last) > forgetAfter && e.pending == 0 {
			failures = 0
		}
		switch {
		case e.until.After(now):
			longest = max(longest, e.until.Sub(now))
		case e.pending > 0 && failures+e.pending >= freeFailures(k):
			longest = max(longest, time.Second)
		}
	}
	if longest > 0 {
		return longest
	}
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok {
			e = &strikes{last: now}
			t.entries[k] = e
		}
		e.pending++
	}
	return 0
}

// end closes an attempt begun with begin, counting it as a failure or not.
func (t *throttle) end(failed bool, keys ...string) {
	t.mu.Lock()
	for _, k := range keys {
		if e, ok := t.entries[k]; ok && e.pending > 0 {
			e.pending--
		}
	}
	t.mu.Unlock()
	if failed {
		t.fail(keys...)
	}
}

// fail records a failed attempt for each key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= maxThrottled {
		for k, e := range t.entries {
			if now.Sub(e.last) > forgetAfter && e.pending == 0 {
				delete(t.entries, k)
			}
		}
	}
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok {
			e = &strikes{}
			t.entries[k] = e
		} else if now.Sub(e.last) > forgetAfter {
			e.failures, e.until = 0, time.Time{}
		}
		e.failures++
		e.last = now
		if over := e.failures - freeFailures(k); over > 0 {
			d := maxLockout
			if over < 20 {
				d = min(time.Second<<(over-1), maxLockout)
			}
			e.until = now.Add(d)
		}
	}
}

// reset forgets the failures of a key, after a successful sign-in.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.entries[key]; ok {
		e.failures, e.until = 0, time.Time{}
	}
}
