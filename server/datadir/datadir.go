// Package datadir is where minping keeps its files: the data directory
// with the SQLite database, and apart from it the key directory with the
// code key and the signing key. It locks a database for the one minping
// that serves it, opens the store with its code key, reads or makes the
// keys, and moves keys an older minping kept in the data directory.
package datadir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"minping/survey/sqlite"
)

// Dirs locates a minping's files; zero fields take the defaults in
// brackets.
type Dirs struct {
	Data string // the data directory: the database [minping-data]
	Keys string // the key directory, kept out of Data [Data-keys]
	DB   string // the SQLite database file [Data/minping.db], or a PostgreSQL URL (IsPostgres)
}

// WithDefaults fills the zero fields.
func (d Dirs) WithDefaults() Dirs {
	if d.Data == "" {
		d.Data = "minping-data"
	}
	if d.Keys == "" {
		d.Keys = filepath.Clean(d.Data) + "-keys"
	}
	if d.DB == "" {
		d.DB = filepath.Join(d.Data, "minping.db")
	}
	return d
}

// OpenStore opens the store of the data directory with the code key of
// the key directory; with create, a missing directory, database or code
// key is created, else a missing one is an error (the commands that read a
// data directory never make one). now is the store's clock.
func OpenStore(ctx context.Context, d Dirs, create bool, now func() time.Time) (*sqlite.Store, error) {
	d = d.WithDefaults()
	if !create {
		if _, err := os.Stat(d.DB); err != nil {
			return nil, fmt.Errorf("no minping database in %s: %w", d.Data, err)
		}
	}
	if err := os.MkdirAll(d.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	codeKey, err := key(d, codeKeyFile, 32, create)
	if err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, d.DB, sqlite.Options{CodeKey: codeKey, Now: now})
}

// CodeKey is the key directory's code key; with create, it is made when
// missing. A store other than the data directory's SQLite file (PostgreSQL)
// is opened with it.
func CodeKey(d Dirs, create bool) ([]byte, error) {
	return key(d.WithDefaults(), codeKeyFile, 32, create)
}

// IsPostgres reports whether db names a PostgreSQL database rather than an
// SQLite file: a postgres:// or postgresql:// URL, or a libpq key=value
// string such as "host=db1 dbname=minping", which would otherwise become a
// strange file name.
func IsPostgres(db string) bool {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return true
	}
	for _, f := range strings.Fields(db) {
		if k, _, ok := strings.Cut(f, "="); ok && libpqKeywords[k] {
			return true
		}
	}
	return false
}

// libpqKeywords are the connection keywords that mark a key=value string.
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true,
	"password": true, "sslmode": true, "service": true, "passfile": true,
	"connect_timeout": true, "application_name": true, "target_session_attrs": true,
}
