//go:build !cgo

package sqlite

import (
	"database/sql"
	"errors"
	"net/url"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	lib "modernc.org/sqlite/lib"
)

// Without cgo minping links a pure-Go SQLite (modernc's translation of the
// C library, through glebarez/sqlite for GORM), with the same pragmas as
// the cgo build: see driver_cgo.go.

const driverName = "sqlite"

// Driver names the SQLite driver linked in, for `minping version`.
const Driver = "glebarez/go-sqlite (pure Go)"

func dialector(dsn string) gorm.Dialector { return sqlite.Open(dsn) }

// dsn is the data source name of the file at path with minping's pragmas
// (see DSN), as this driver takes them: each a _pragma.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(TRUNCATE)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "secure_delete(1)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

func readOnlyDSN(path string) string { return dsn(path, true) }

// isBusy reports whether err is SQLite's "the database is locked" or
// "busy": another connection holds it.
func isBusy(err error) bool {
	var se *gosqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff // the primary code of an extended one
	return code == lib.SQLITE_BUSY || code == lib.SQLITE_LOCKED
}

// LibVersion is the version of the SQLite library linked in.
func LibVersion() string { return lib.SQLITE_VERSION }

// OpenFile opens the SQLite file at path apart from any store, with the
// linked driver and the pragmas given (journal_mode, synchronous,
// busy_timeout), read-only if asked: for tools and tests that look at the
// file as it is on disk.
func OpenFile(path string, pragmas map[string]string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	for k, v := range pragmas {
		q.Add("_pragma", k+"("+v+")")
	}
	if readOnly {
		q.Set("mode", "ro")
	}
	return sql.Open(driverName, "file:"+path+"?"+q.Encode())
}
