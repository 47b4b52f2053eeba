package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey/storetest"
)

// testServer is the DSN of a PostgreSQL superuser on which tests create
// their databases. Without one the tests skip, saying how to get one; in
// CI they fail.
func testServer(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("MINPING_TEST_POSTGRES")
	if dsn == "" {
		msg := "no PostgreSQL to test against: install Debian's postgresql, start a cluster (.ci/postgres start does) " +
			"and set MINPING_TEST_POSTGRES to a superuser's DSN, e.g. postgres://postgres:pw@127.0.0.1:5432/postgres"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// withDatabase is dsn naming database name instead.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

// freshDatabase creates a database of its own for a test, dropped at its
// end, and returns its DSN.
func freshDatabase(t testing.TB) string {
	t.Helper()
	server := testServer(t)
	var b [6]byte
	rand.Read(b[:])
	name := "minping_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return withDatabase(t, server, name)
}

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
