package postgres

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey/postgres/pgtest"
	"minping/survey/storetest"
)

// The tests' databases come from pgtest: each a fresh one on the server
// MINPING_TEST_POSTGRES names, or the test skips (fails in CI).
var (
	testServer    = pgtest.Server
	freshDatabase = pgtest.FreshDatabase
)

var testCodeKey = bytes.Repeat([]byte{7}, 32)

// openAt opens a Store on dsn with keyDir, closed at the test's end.
func openAt(t testing.TB, dsn, keyDir string, o Options) *Store {
	t.Helper()
	o.CodeKey, o.KeyDir = testCodeKey, keyDir
	s, err := Open(context.Background(), dsn, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openStore opens a Store on a fresh database, with its own key directory.
func openStore(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := freshDatabase(t)
	return openAt(t, dsn, t.TempDir(), Options{}), dsn
}

// TestStore runs the behaviour every store must have against PostgreSQL.
func TestStore(t *testing.T) {
	testServer(t)
	storetest.Run(t, func(t *testing.T, o storetest.Options) storetest.Store {
		return openAt(t, freshDatabase(t), t.TempDir(), Options{Now: o.Now})
	})
}

// exec runs statements on the test's database as the superuser.
func execSQL(t testing.TB, dsn string, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

var _ = time.Second
