// Package groupcommit gathers concurrent writes into groups, each written
// by one commit: the ballot writers of both stores. A writer takes what is
// waiting when it is free; under load it lingers a little for more, as
// PostgreSQL's commit_delay does: if at least LingerFrom wait when it
// starts a group, it gathers until the group holds LingerUpTo or LingerFor
// has passed. A commit then carries more items, and the CPU its flush
// would have taken goes to the requests instead. A lone item is never held.
package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"minping/survey"
)

// Options shape a Queue; zero fields take the defaults in brackets.
type Options struct {
	Writers    int           // groups committed at once, each by its own goroutine [1]
	MaxGroup   int           // the most items a group holds [512]
	LingerFrom int           // waiting items that make a writer linger [2]
	LingerUpTo int           // the group a lingering writer waits for [128]
	LingerFor  time.Duration // the longest it waits [2ms]
	Buffer     int           // items that may wait for a writer [4096]
}

func (o Options) withDefaults() Options {
	if o.Writers < 1 {
		o.Writers = 1
	}
	if o.MaxGroup < 1 {
		o.MaxGroup = 512
	}
	if o.LingerFrom < 1 {
		o.LingerFrom = 2
	}
	if o.LingerUpTo < 1 {
		o.LingerUpTo = 128
	}
	if o.LingerFor <= 0 {
		o.LingerFor = 2 * time.Millisecond
	}
	if o.Buffer < 1 {
		o.Buffer = 4096
	}
	o.LingerUpTo = min(o.LingerUpTo, o.MaxGroup)
	return o
}

// ErrClosed is an item offered to a queue that has stopped taking them.
var ErrClosed = errors.New("the writer has stopped")

// Queue hands the items put to it to commit, in groups.
type Queue[T any] struct {
	o       Options
	commit  func(group []T)
	items   chan T
	done    chan struct{} // closed by Close: the writers drain and stop
	stopped chan struct{} // closed once every writer has stopped
	once    sync.Once
	wg      sync.WaitGroup

	commits, committed, busy atomic.Int64
}

// New starts o.Writers writers that call commit with each group. commit
// answers each item of its group (the items carry their own way to be
// answered); a group is never empty, and commit is not called again by the
// same writer until it returns.
func New[T any](commit func(group []T), o Options) *Queue[T] {
	o = o.withDefaults()
	q := &Queue[T]{o: o, commit: commit, items: make(chan T, o.Buffer), done: make(chan struct{}), stopped: make(chan struct{})}
	for range o.Writers {
		q.wg.Go(q.write)
	}
	go func() { q.wg.Wait(); close(q.stopped) }()
	return q
}

// Put queues item for a commit; ctx's error if it ends first, ErrClosed
// once the queue is closed. Once queued, an item is committed whatever
// its caller does.
func (q *Queue[T]) Put(ctx context.Context, item T) error {
	select {
	case <-q.done:
		return ErrClosed
	default:
	}
	select {
	case q.items <- item:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-q.done:
		return ErrClosed
	}
}

// Do queues item and waits for its answer on result, which commit sends
// once the item's group is committed or refused. Once queued, the item is
// answered whatever ctx does, so that nothing is reported done before it
// is durable; an item queued just as the writers stopped is never taken,
// and is refused with ErrClosed rather than waited for forever.
func (q *Queue[T]) Do(ctx context.Context, item T, result <-chan error) error {
	if err := q.Put(ctx, item); err != nil {
		return err
	}
	select {
	case err := <-result:
		return err
	case <-q.stopped:
		select {
		case err := <-result:
			return err
		default:
			return ErrClosed
		}
	}
}

// Stopped is closed once every writer has stopped: an item queued just as
// they stopped may never be committed, and its caller stops waiting.
func (q *Queue[T]) Stopped() <-chan struct{} { return q.stopped }

// Close stops taking items; the writers commit what was queued before,
// one item a commit, and stop. It returns once they have. Calling it again
// does nothing.
func (q *Queue[T]) Close() {
	q.once.Do(func() { close(q.done) })
	<-q.stopped
}

// Stats are the writers' totals so far: commits, the items they carried,
// and the time spent committing.
func (q *Queue[T]) Stats() survey.WriterStats {
	return survey.WriterStats{Commits: q.commits.Load(), Submissions: q.committed.Load(), Busy: time.Duration(q.busy.Load())}
}

// write is one writer: it takes the items waiting, lingers for more if
// several were, and commits them as one group.
func (q *Queue[T]) write() {
	group := make([]T, 0, q.o.MaxGroup)
	for {
		select {
		case item := <-q.items:
			group = append(group[:0], item)
		case <-q.done:
			for { // what was queued before the close, one by one
				select {
				case item := <-q.items:
					q.run([]T{item})
				default:
					return
				}
			}
		}
	gather:
		for len(group) < q.o.MaxGroup {
			select {
			case item := <-q.items:
				group = append(group, item)
			default:
				break gather
			}
		}
		if len(group) >= q.o.LingerFrom {
			group = q.linger(group)
		}
		q.run(group)
	}
}

// run commits one group and counts it.
func (q *Queue[T]) run(group []T) {
	start := time.Now()
	q.commit(group)
	q.commits.Add(1)
	q.committed.Add(int64(len(group)))
	q.busy.Add(int64(time.Since(start)))
}

// linger adds to the group the items that arrive until it holds LingerUpTo
// or LingerFor has passed.
func (q *Queue[T]) linger(group []T) []T {
	if len(group) >= q.o.LingerUpTo {
		return group
	}
	t := time.NewTimer(q.o.LingerFor)
	defer t.Stop()
	for len(group) < q.o.LingerUpTo {
		select {
		case item := <-q.items:
			group = append(group, item)
		case <-t.C:
			return group
		case <-q.done:
			return group
		}
	}
	return group
}
