//go:build unix

package datadir

import (
	"errors"
	"fmt"
	"syscall"
)

// Lock takes an exclusive lock beside the database for as long as
// minping serves it. Two servers on one database would each keep their own
// memory of its codes and turnout; the second is refused instead. The lock
// goes with the process, however it ends. Commands that only read or
// compact the database (verify, recount, compact) do not take it.
func Lock(d Dirs) (unlock func(), err error) {
	f, db, path, err := openLockFile(d)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another minping is already serving %s (it holds %s): stop it first", db, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
