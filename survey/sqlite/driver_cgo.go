//go:build cgo

package sqlite

import (
	"database/sql"
	"errors"
	"net/url"

	"github.com/mattn/go-sqlite3"
	gormsqlite "gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// With cgo, minping links SQLite's C library through mattn/go-sqlite3: the
// fastest, and what the benchmarks measure. Without cgo (CGO_ENABLED=0: a
// 信创 machine's older glibc, Windows, a cross build) it links a pure-Go
// SQLite instead (driver_purego.go), with the same pragmas.

// driverName is database/sql's name of the linked driver.
const driverName = "sqlite3"

// Driver names the SQLite driver linked in, for `minping version`.
const Driver = "mattn/go-sqlite3 (cgo)"

func dialector(dsn string) gorm.Dialector { return gormsqlite.Open(dsn) }

// dsn is the data source name of the file at path with minping's pragmas
// (see DSN); readOnly connections refuse writes (query_only).
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "TRUNCATE")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_secure_delete", "on")
	q.Set("_txlock", "immediate")
	q.Set("_stmt_cache_size", "32")
	if readOnly {
		q.Set("_query_only", "1")
	}
	return "file:" + path + "?" + q.Encode()
}

func readOnlyDSN(path string) string { return dsn(path, true) }

// isBusy reports whether err is SQLite's "the database is locked" or
// "busy": another connection holds it.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// LibVersion is the version of the SQLite library linked in.
func LibVersion() string {
	v, _, _ := sqlite3.Version()
	return v
}

// OpenFile opens the SQLite file at path apart from any store, with the
// linked driver and the pragmas given (journal_mode, synchronous,
// busy_timeout), read-only if asked: for tools and tests that look at the
// file as it is on disk.
func OpenFile(path string, pragmas map[string]string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	for k, v := range pragmas {
		q.Set("_"+k, v)
	}
	if readOnly {
		q.Set("mode", "ro")
	}
	return sql.Open(driverName, "file:"+path+"?"+q.Encode())
}
