package server

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"minping/assets"
	"minping/survey/postgres/pgtest"
)

// TestTwoInstancesPostgres runs two minping servers on one PostgreSQL
// database, as behind a load balancer, sharing the key directory. Every
// slip is submitted to both at once: each is spent exactly once, its ballot
// stored once, the other told it is used. Close and seal, asked of both at
// once, happen once; the loser answers 409.
func TestTwoInstancesPostgres(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	keys := t.TempDir()
	shared := func(c *Config) { c.DB, c.Keys = dsn, keys }
	a := startMinping(t, shared)
	b := startMinping(t, shared)
	adminA, adminB := a.admin(t), b.admin(t)

	round := adminA.createRound(assets.Example())
	n := 200
	if testing.Short() {
		n = 50
	}
	_, codes := adminB.issue(round, "czj", "staff", n)
	adminA.state(round, "open")
	doc := adminB.ballot(codes[0]) // a code issued through B is known to A too, below
	answers := answerAll(doc, func(form, subject, row string) string { return "" })

	var created, used, other atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, code := range codes {
		for _, base := range []string{a.base, b.base} {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				switch r := submitBallot(t, base, code, answers); r.status {
				case http.StatusCreated:
					created.Add(1)
				case http.StatusConflict:
					used.Add(1)
				default:
					other.Add(1)
					t.Errorf("submit %s: %s", base, r)
				}
			})
		}
	}
	wg.Wait()
	if created.Load() != int64(n) || used.Load() != int64(n) || other.Load() != 0 {
		t.Fatalf("%d codes submitted to both servers: %d stored, %d told used, %d else; want %d, %d, 0",
			n, created.Load(), used.Load(), other.Load(), n, n)
	}

	// Close, then seal, asked of both at once: one each.
	for _, change := range []struct{ path, state string }{{"/close", "closed"}, {"/seal", "sealed"}} {
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i, c := range []apiClient{adminA, adminB} {
			wg.Go(func() { statuses[i] = c.do("POST", "/api/v1/rounds/"+round+change.path, nil).status })
		}
		wg.Wait()
		if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
			t.Errorf("%s asked of both servers at once: got %v, want one 200 and one 409", change.path, statuses)
		}
		var got struct{ Status string }
		adminB.must(200, "GET", "/api/v1/rounds/"+round, nil).decode(t, &got)
		if got.Status != change.state {
			t.Fatalf("after %s: round is %q, want %q", change.path, got.Status, change.state)
		}
	}
	var sealed struct{ Ballots, Voted int }
	adminB.must(200, "GET", "/api/v1/rounds/"+round+"/tally", nil).decode(t, &sealed)
	if sealed.Ballots != n || sealed.Voted != n {
		t.Errorf("sealed document: %d ballots, %d voted; want %d and %d", sealed.Ballots, sealed.Voted, n, n)
	}
}
