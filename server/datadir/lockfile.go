package datadir

import (
	"fmt"
	"os"
	"path/filepath"
)

// openLockFile opens (creating them) the data directory and the lock file
// beside the database, for Lock.
func openLockFile(d Dirs) (f *os.File, db, path string, err error) {
	db = d.WithDefaults().DB
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		return nil, "", "", fmt.Errorf("data directory: %w", err)
	}
	path = db + ".lock"
	if f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, "", "", fmt.Errorf("lock %s: %w", path, err)
	}
	return f, db, path, nil
}
