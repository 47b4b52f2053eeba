package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the raw baseline

	"minping/bench"
	"minping/server"
	"minping/survey"
	"minping/survey/postgres"
)

// benchCommand starts minping in this process on a loopback port with a
// temporary data directory (removed afterwards) and runs the load test
// against it. minping's log goes to a file there, as a service's goes to the
// journal, so that what logging costs is part of what is measured.
func benchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := bench.ParseFlags(args, stderr)
	if err != nil {
		return usageError{err}
	}
	dir, err := os.MkdirTemp("", "minping-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	logFile, err := os.Create(filepath.Join(dir, "minping.log"))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer logFile.Close()

	sc := server.Config{Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data"), AdminToken: survey.NewToken(), DB: cfg.DB()}
	var raw *bench.RawTable
	if cfg.DB() != "" {
		db, err := openRawPostgres(ctx, cfg.DB())
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer db.Close()
		raw = &bench.RawTable{DB: db, Insert: `INSERT INTO minping_bench_raw (id, round_id, unit, category, answers) VALUES ($1, $2, $3, $4, $5)`,
			Writers: postgres.DefaultWriters}
	}
	store, err := server.OpenStore(ctx, sc, true)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer store.Close()
	key, err := server.SealKey(sc)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	srv, err := server.New(store, key, sc, slog.New(slog.NewTextHandler(logFile, nil)))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	ln, err := net.Listen("tcp", sc.Addr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	return bench.Run(ctx, cfg, bench.Target{
		URL: "http://" + ln.Addr().String(), Token: sc.AdminToken, Writer: store.WriterStats, Dir: dir, Raw: raw,
	}, stdout)
}

// openRawPostgres makes, in the bench's PostgreSQL database, the raw
// baseline's table: the columns of the store's ballots, with its key, so
// that raw group commits write what a naive store would. It is emptied
// first, and its connections commit with the server's synchronous_commit,
// as the store's do.
func openRawPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(postgres.DefaultWriters + 1)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS minping_bench_raw (id bytea PRIMARY KEY, round_id text NOT NULL, unit text NOT NULL, category text NOT NULL, answers bytea NOT NULL)`,
		`TRUNCATE minping_bench_raw`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("raw baseline table: %w", err)
		}
	}
	return db, nil
}
