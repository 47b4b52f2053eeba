package main

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
	until    time.Time // no attempt before this
	last     time.Time
}

const (
	freeNameFailures = 5
	freeAddrFailures = 20
	maxLockout       = 15 * time.Minute
	forgetAfter      = time.Hour // failures older than this are forgotten
	maxThrottled     = 100000
)

func newThrottle() *throttle {
	return &throttle{now: time.Now, entries: map[string]*strikes{}}
}

func freeFailures(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return freeAddrFailures
	}
	return freeNameFailures
}

// wait returns how long the keys must still wait, the longest of them; 0
// if an attempt may be made now.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		if e, ok := t.entries[k]; ok {
			longest = max(longest, e.until.Sub(now))
		}
	}
	return longest
}

// fail records a failed attempt for each key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= maxThrottled {
		for k, e := range t.entries {
			if now.Sub(e.last) > forgetAfter {
				delete(t.entries, k)
			}
		}
	}
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok || now.Sub(e.last) > forgetAfter {
			e = &strikes{}
			t.entries[k] = e
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
	delete(t.entries, key)
}
