package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"minping/assets"
	"minping/survey"
	"minping/survey/sqlite"
)

// usageError makes run exit with status 2.
type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// run is the whole program: main only adds the process around it, so tests
// call run with their own arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServeFlags(args, getenv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "verify":
		return verifyCommand(args, stdout, stderr)
	case "bench":
		return benchCommand(ctx, args, stdout, stderr)
	case "recount":
		return recountCommand(ctx, args, getenv, stdout, stderr)
	case "compact":
		return compactCommand(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Errorf("unknown command %q\n%s", cmd, usage)}
	}
}

const usage = `usage:
  minping serve  [--addr :8080] [--data DIR] [--base-url URL] [--db DSN]
  minping verify --pubkey B64 DOCUMENT SIGNATURE
  minping bench  [-clients 64,256] [-duration 10s] [-codes 100000]   load test on loopback
  minping recount [--data DIR] ROUND
  minping compact [--data DIR]
`

// config is what serve needs; every flag also reads an environment variable.
type config struct {
	Addr          string
	Data          string
	BaseURL       string
	DB            string
	AdminToken    string
	AdminPassword string
	Demo          bool
	now           func() time.Time
	opened        func(*sqlite.Store) // told of the store once it is open (the bench reads its writer's totals)
}

func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.Addr, "addr", env("MINPING_ADDR", ":8080"), "address to listen on (MINPING_ADDR)")
	fs.StringVar(&c.Data, "data", env("MINPING_DATA", "minping-data"), "data directory: database and keys (MINPING_DATA)")
	fs.StringVar(&c.BaseURL, "base-url", env("MINPING_BASE_URL", ""), "public URL that QR links point to, e.g. https://mp.example.gov.cn (MINPING_BASE_URL); default: taken from each request")
	fs.StringVar(&c.DB, "db", env("MINPING_DB", ""), "SQLite database file (MINPING_DB); default DATA/minping.db")
	fs.BoolVar(&c.Demo, "demo", env("MINPING_DEMO", "true") == "true", "on a first start, load the example round as a draft (MINPING_DEMO)")
	if err := fs.Parse(args); err != nil {
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))}
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	c.AdminToken = getenv("MINPING_ADMIN_TOKEN")
	c.AdminPassword = getenv("MINPING_ADMIN_PASSWORD")
	if strings.HasPrefix(c.DB, "postgres") {
		return c, usageError{fmt.Errorf("serve: --db %q: this build stores in SQLite only; give a file path", c.DB)}
	}
	return c, nil
}

// serve wires the program by hand, in order: logger, data directory and
// keys, store, bootstrap, HTTP server; then waits for ctx and shuts down.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	unlock, err := lockDatabase(dbPath(cfg))
	if err != nil {
		return err
	}
	defer unlock()
	_, statErr := os.Stat(dbPath(cfg))
	firstStart := errors.Is(statErr, os.ErrNotExist)
	store, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.opened != nil {
		cfg.opened(store)
	}
	seed, err := loadOrCreateKey(filepath.Join(cfg.Data, "seal.key"), ed25519.SeedSize)
	if err != nil {
		return err
	}

	if err := bootstrap(ctx, store, cfg, firstStart, stdout); err != nil {
		return err
	}

	srv, err := newServer(store, ed25519.NewKeyFromSeed(seed), cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	url := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "minping serving on %s  (console %s/console, voters %s/b)\n", url, url, url)
	log.Info("serving", "addr", ln.Addr().String(), "data", cfg.Data)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	summaries, stopSummaries := context.WithCancel(ctx)
	defer stopSummaries()
	go srv.summarizeRequests(summaries, time.Minute)
	select {
	case err := <-errc:
		srv.logRequestCounts()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	srv.logRequestCounts() // what was counted since the last summary
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func dbPath(cfg config) string {
	if cfg.DB != "" {
		return cfg.DB
	}
	return filepath.Join(cfg.Data, "minping.db")
}

// openStore opens the store of a data directory; with create, a missing
// directory, database or code key is created.
func openStore(ctx context.Context, cfg config, create bool) (*sqlite.Store, error) {
	keyPath := filepath.Join(cfg.Data, "code.key")
	if !create {
		if _, err := os.Stat(dbPath(cfg)); err != nil {
			return nil, fmt.Errorf("no minping database in %s: %w", cfg.Data, err)
		}
		if _, err := os.Stat(keyPath); err != nil {
			return nil, fmt.Errorf("no code key in %s: %w", cfg.Data, err)
		}
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	codeKey, err := loadOrCreateKey(keyPath, 32)
	if err != nil {
		return nil, err
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	return sqlite.Open(ctx, dbPath(cfg), sqlite.Options{CodeKey: codeKey, Now: cfg.now})
}

// bootstrap creates the admin account and, on a first start, the demo round.
func bootstrap(ctx context.Context, store *sqlite.Store, cfg config, firstStart bool, stdout io.Writer) error {
	has, err := store.HasAccount(ctx, "admin")
	if err != nil {
		return err
	}
	switch {
	case cfg.AdminPassword != "":
		if err := store.SetPassword(ctx, "admin", survey.RoleAdmin, cfg.AdminPassword); err != nil {
			return fmt.Errorf("admin account: %w", err)
		}
	case !has:
		pw := survey.NewToken()[:16]
		if err := store.SetPassword(ctx, "admin", survey.RoleAdmin, pw); err != nil {
			return fmt.Errorf("admin account: %w", err)
		}
		fmt.Fprintf(stdout, "created the console account admin with the password %s\n(shown this once; set MINPING_ADMIN_PASSWORD to choose your own)\n", pw)
	}
	if firstStart && cfg.Demo {
		def, err := survey.ParseDefinition(assets.Example())
		if err != nil {
			return fmt.Errorf("example round: %w", err)
		}
		r, err := store.CreateRound(ctx, def, assets.Example())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "loaded the example round %q (%s) as a draft\n", r.Name, r.ID)
	}
	return nil
}

// loadOrCreateKey reads a secret of n bytes from path, creating it (mode
// 0600) from crypto/rand if it does not exist.
func loadOrCreateKey(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != n {
			return nil, fmt.Errorf("key %s: has %d bytes, want %d", filepath.Base(path), len(b), n)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("key: %w", err)
	}
	b = make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("key: %w", err)
	}
	return b, f.Close()
}

func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// compactCommand empties the write-ahead log and rebuilds the database file
// of a data directory, as closing a round does: for when a close or seal
// reported the log still full, and before copying the directory.
func compactCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(nil, getenv, stderr)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory (MINPING_DATA)")
	fs.StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file (MINPING_DB); default DATA/minping.db")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	store, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Compact(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "compacted: the write-ahead log is empty and the database file rebuilt")
	return nil
}
