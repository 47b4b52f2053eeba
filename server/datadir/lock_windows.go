//go:build windows

package datadir

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// Lock takes an exclusive lock beside the database for as long as
// minping serves it, as on Unix: LockFileEx on the lock file, which the
// system releases however the process ends.
func Lock(d Dirs) (unlock func(), err error) {
	f, db, path, err := openLockFile(d)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, fmt.Errorf("another minping is already serving %s (it holds %s): stop it first", db, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
