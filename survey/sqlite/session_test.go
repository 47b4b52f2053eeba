package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"minping/survey"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openClockedStore(t *testing.T) (*Store, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "minping.db"),
		Options{CodeKey: bytes.Repeat([]byte{7}, 32), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, clock := openClockedStore(t)
	a, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: "考核办", Role: survey.RoleOrganiser, Password: "pw-organiser-1"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionAccount(ctx, token)
	if err != nil {
		t.Fatalf("SessionAccount: %v", err)
	}
	if got.ID != a.ID || got.Role != survey.RoleOrganiser {
		t.Errorf("got account %+v, want %+v", got, a)
	}

	// Only a hash of the secret is stored.
	var stored [][]byte
	s.r.Raw(`SELECT token_hash FROM sessions`).Scan(&stored)
	if len(stored) != 1 || bytes.Contains(stored[0], []byte(token)) || !bytes.Equal(stored[0], hashToken(token)) {
		t.Errorf("sessions hold %q, want only the SHA-256 of the secret", stored)
	}

	for _, bad := range []string{"", "nope", token + "x"} {
		if _, err := s.SessionAccount(ctx, bad); !errors.Is(err, survey.ErrUnauthorized) {
			t.Errorf("SessionAccount(%q): got %v, want ErrUnauthorized", bad, err)
		}
	}

	// Requests keep a session alive past the idle limit, up to the maximum.
	for elapsed := time.Duration(0); elapsed < SessionMax-SessionIdle/2; elapsed += SessionIdle / 2 {
		clock.add(SessionIdle / 2)
		if _, err := s.SessionAccount(ctx, token); err != nil {
			t.Fatalf("after %v with requests: %v, want the session alive", elapsed+SessionIdle/2, err)
		}
	}
	clock.add(SessionIdle / 2)
	if _, err := s.SessionAccount(ctx, token); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("after %v: got %v, want ErrUnauthorized (absolute limit)", SessionMax, err)
	}

	// Idle for longer than the idle limit ends a session.
	idle, _ := s.CreateSession(ctx, a.ID)
	clock.add(SessionIdle)
	if _, err := s.SessionAccount(ctx, idle); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("idle %v: got %v, want ErrUnauthorized", SessionIdle, err)
	}

	// Signing out ends one session; a password reset ends them all.
	one, _ := s.CreateSession(ctx, a.ID)
	two, _ := s.CreateSession(ctx, a.ID)
	if err := s.EndSession(ctx, one); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, one); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("after EndSession: got %v, want ErrUnauthorized", err)
	}
	if _, err := s.SessionAccount(ctx, two); err != nil {
		t.Errorf("the other session: got %v, want it alive", err)
	}
	if err := s.EndSessionsOf(ctx, a.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, two); !errors.Is(err, survey.ErrUnauthorized) {
		t.Errorf("after EndSessionsOf: got %v, want ErrUnauthorized", err)
	}
	var n int
	s.r.Raw(`SELECT COUNT(*) FROM sessions`).Scan(&n)
	if n != 0 {
		t.Errorf("%d sessions left, want 0 (expired ones are removed at the next sign-in)", n)
	}
}

func TestExpected(t *testing.T) {
	ctx := context.Background()
	s, _ := openClockedStore(t)
	r, err := s.CreateRound(ctx, exampleDefinition(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.Expected(ctx, r.ID); err != nil || len(e) != 0 {
		t.Fatalf("before any roster: got %v, %v; want empty", e, err)
	}
	first := survey.Expected{"czj": {"staff": 40, "leaders": 3}, "fgj": {"staff": 0}}
	if err := s.SetExpected(ctx, r.ID, first); err != nil {
		t.Fatal(err)
	}
	second := survey.Expected{"czj": {"cadres": 12}}
	if err := s.SetExpected(ctx, r.ID, second); err != nil {
		t.Fatal(err)
	}
	got, err := s.Expected(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(second, got); d != "" {
		t.Errorf("a second roster replaces the first (-want +got):\n%s", d)
	}
}
