package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestLingerGathers checks a writer's wait for more: it takes what arrives
// up to LingerUpTo, and with nothing arriving returns the group as it was
// once LingerFor has passed.
func TestLingerGathers(t *testing.T) {
	o := Options{}.withDefaults()
	waiting := 2 * o.LingerUpTo
	q := &Queue[int]{o: o, items: make(chan int, waiting), done: make(chan struct{})}
	for i := range waiting {
		q.items <- i
	}
	if g := q.linger(make([]int, 2)); len(g) != o.LingerUpTo {
		t.Errorf("with %d waiting: a group of %d, want %d", waiting, len(g), o.LingerUpTo)
	}
	if n := len(q.items); n != waiting-(o.LingerUpTo-2) {
		t.Errorf("%d left waiting, want %d", n, waiting-(o.LingerUpTo-2))
	}
	for len(q.items) > 0 {
		<-q.items
	}
	if g := q.linger(make([]int, 2)); len(g) != 2 {
		t.Errorf("with none arriving: a group of %d, want 2", len(g))
	}
}

// TestQueueCommitsEveryItemOnce puts items from many goroutines through
// several writers: each is committed exactly once, in groups no larger
// than MaxGroup, and a lone item goes alone, at once.
func TestQueueCommitsEveryItemOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	largest := 0
	q := New(func(group []int) {
		mu.Lock()
		defer mu.Unlock()
		largest = max(largest, len(group))
		for _, i := range group {
			seen[i]++
		}
		time.Sleep(100 * time.Microsecond) // a flush
	}, Options{Writers: 3, MaxGroup: 64})
	const n = 2000
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Go(func() {
			for i := w; i < n; i += 50 {
				if err := q.Put(context.Background(), i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	q.Close()
	if len(seen) != n {
		t.Fatalf("%d items committed, want %d", len(seen), n)
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("item %d committed %d times", i, c)
		}
	}
	if largest > 64 {
		t.Errorf("a group of %d, above MaxGroup 64", largest)
	}
	if st := q.Stats(); st.Submissions != n || st.Commits < 1 || st.Commits > n {
		t.Errorf("stats %+v, want %d items", st, n)
	}
	if err := q.Put(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("put after close: %v, want ErrClosed", err)
	}

	// A lone item is committed alone, without lingering.
	done := make(chan []int, 1)
	lone := New(func(group []int) { done <- group }, Options{LingerFor: time.Hour})
	defer lone.Close()
	lone.Put(context.Background(), 7)
	select {
	case g := <-done:
		if len(g) != 1 || g[0] != 7 {
			t.Errorf("a lone item: group %v", g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone item was held")
	}
}

// TestDo: an item's answer comes back to its caller once its group is
// committed, and a closed queue refuses with ErrClosed.
func TestDo(t *testing.T) {
	type item struct {
		n      int
		result chan error
	}
	refused := errors.New("refused")
	q := New(func(group []item) {
		for _, it := range group {
			if it.n%2 == 1 {
				it.result <- refused
			} else {
				it.result <- nil
			}
		}
	}, Options{})
	for n := range 4 {
		it := item{n, make(chan error, 1)}
		want := error(nil)
		if n%2 == 1 {
			want = refused
		}
		if err := q.Do(context.Background(), it, it.result); err != want {
			t.Errorf("item %d: %v, want %v", n, err, want)
		}
	}
	q.Close()
	it := item{0, make(chan error, 1)}
	if err := q.Do(context.Background(), it, it.result); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v, want ErrClosed", err)
	}
}
