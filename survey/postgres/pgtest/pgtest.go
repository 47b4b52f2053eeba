// Package pgtest gives tests a PostgreSQL database of their own, on the
// server that MINPING_TEST_POSTGRES names (a superuser's DSN; .ci/postgres
// starts a throwaway cluster and prints it). Without that server a test
// skips, saying what to install; in CI (CI=true) it fails instead, so that
// CI, which installs PostgreSQL, always runs it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Server is the DSN of the test server's superuser; it skips (or, in CI,
// fails) the test when there is none.
func Server(t testing.TB) string {
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

// WithDatabase is dsn naming database name instead.
func WithDatabase(t testing.TB, dsn, name string) string {
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

// FreshDatabase creates a database of the test's own, dropped at its end,
// and returns its DSN.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	server := Server(t)
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
	return WithDatabase(t, server, name)
}
