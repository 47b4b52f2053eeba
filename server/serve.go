package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"minping/assets"
	"minping/server/datadir"
	"minping/survey"
	"minping/survey/postgres"
)

// Config is what Serve needs. cmd/minping fills it from flags and the
// environment; zero values take the defaults in brackets.
type Config struct {
	Addr          string // address to listen on [:8080]
	Data          string // data directory: the database [minping-data]
	Keys          string // key directory: code.key and seal.key, kept out of Data [Data-keys]
	BaseURL       string // public URL that QR links point to; "" takes each request's
	DB            string // SQLite database file [Data/minping.db], or a PostgreSQL URL or key=value string
	AllowUnsafeDB bool   // open PostgreSQL even with settings that would record ballots (--allow-unsafe-db-settings)
	AdminToken    string // a bearer token for the administrator (MINPING_ADMIN_TOKEN)
	AdminPassword string // the console password of admin (MINPING_ADMIN_PASSWORD)
	Demo          bool   // on a first start, load the example round as a draft
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For names the client (sign-in throttling and the
	// console's logs use it); none by default.
	TrustedProxies []string
	Now            func() time.Time // the clock for round-level times [time.Now]
	TZ             *time.Location   // the zone of times people read [Asia/Shanghai]
	// MetricsAddr serves /metrics on an address of its own (--metrics-addr);
	// when empty, /metrics answers loopback clients on Addr only.
	MetricsAddr string
	// LogJSON writes the log as JSON lines (--log-format json), else text.
	LogJSON bool
	// MinFreeDisk is the free space under which /readyz fails [MinFreeDisk].
	MinFreeDisk int64

	turnoutEvery time.Duration // tests: how often the console's live turnout may change
}

func (cfg Config) withDefaults() Config {
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	d := cfg.dirs().WithDefaults()
	cfg.Data, cfg.Keys, cfg.DB = d.Data, d.Keys, d.DB
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TZ == nil {
		cfg.TZ = beijing
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return cfg
}

// Serve runs minping until ctx ends, wired by hand in order: logger, data
// directory and keys, store, bootstrap, HTTP server; then shuts down
// gracefully. It prints where it serves to stdout and logs to stderr.
func Serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	cfg = cfg.withDefaults()
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.LogJSON {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(handler)

	// One minping serves an SQLite file, and locks it; any number share a
	// PostgreSQL database.
	pg := datadir.IsPostgres(cfg.DB)
	firstStart := false
	if !pg {
		unlock, err := datadir.Lock(cfg.dirs())
		if err != nil {
			return err
		}
		defer unlock()
		_, statErr := os.Stat(cfg.DB)
		firstStart = errors.Is(statErr, os.ErrNotExist)
	}
	moved, err := datadir.MoveKeys(cfg.dirs())
	for _, m := range moved {
		log.Info(m)
	}
	if err != nil {
		return err
	}
	store, err := OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer store.Close()
	for _, f := range store.Finished() {
		log.Info(f)
	}
	if pg {
		// A database without its administrator is a first start.
		has, err := store.HasAccount(ctx, "admin")
		if err != nil {
			return err
		}
		firstStart = !has
	}
	key, err := SealKey(cfg)
	if err != nil {
		return err
	}

	if err := bootstrap(ctx, store, cfg, firstStart, stdout, log); err != nil {
		return err
	}

	srv, err := New(store, key, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	url := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "minping serving on %s  (console %s/console, voters %s/b)\n", url, url, url)
	where := cfg.DB
	if pg {
		where = describePostgres(cfg.DB) // never its password
	}
	log.Info("serving", "addr", ln.Addr().String(), "db", where, "keys", cfg.Keys)

	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		ms := &http.Server{Handler: srv.metrics.handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.Serve(mln) }()
		defer ms.Close()
		log.Info("metrics", "addr", mln.Addr().String())
	}
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

// dirs are the config's data, key and database locations.
func (cfg Config) dirs() datadir.Dirs {
	return datadir.Dirs{Data: cfg.Data, Keys: cfg.Keys, DB: cfg.DB}
}

// OpenStore opens the store of a data directory with the code key of its
// key directory; with create, a missing directory, database or code key is
// created, else a missing one is an error (see datadir.OpenStore).
func OpenStore(ctx context.Context, cfg Config, create bool) (Store, error) {
	cfg = cfg.withDefaults()
	if datadir.IsPostgres(cfg.DB) {
		codeKey, err := datadir.CodeKey(cfg.dirs(), create)
		if err != nil {
			return nil, err
		}
		s, err := postgres.Open(ctx, cfg.DB, postgres.Options{
			CodeKey: codeKey, KeyDir: cfg.Keys, Now: cfg.Now, AllowUnsafeSettings: cfg.AllowUnsafeDB,
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := datadir.OpenStore(ctx, cfg.dirs(), create, cfg.Now)
	if err != nil {
		return nil, err // not a nil *sqlite.Store in a non-nil Store
	}
	return s, nil
}

// SealKey is the key directory's signing key, made on first use.
func SealKey(cfg Config) (ed25519.PrivateKey, error) {
	return datadir.SealKey(cfg.withDefaults().dirs())
}

// bootstrap creates the admin account if there is none, with
// MINPING_ADMIN_PASSWORD (which must pass the password policy) or a
// generated password printed once; the variable is read only then, so that
// it never undoes a password changed since (reset one with minping passwd).
// On a first start it loads the demo round.
func bootstrap(ctx context.Context, store Store, cfg Config, firstStart bool, stdout io.Writer, log *slog.Logger) error {
	has, err := store.HasAccount(ctx, "admin")
	if err != nil {
		return err
	}
	switch {
	case has && cfg.AdminPassword != "":
		log.Info("MINPING_ADMIN_PASSWORD is ignored: the account admin exists (the variable sets its password only when it is made; reset it with `minping passwd admin`)")
	case cfg.AdminPassword != "":
		if ps := survey.PasswordProblems("MINPING_ADMIN_PASSWORD", "admin", cfg.AdminPassword); len(ps) > 0 {
			return fmt.Errorf("admin account: %w", &survey.ValidationError{Problems: ps})
		}
		if err := store.SetPassword(ctx, "admin", survey.RoleAdmin, cfg.AdminPassword); err != nil && !errors.Is(err, survey.ErrDuplicate) {
			return fmt.Errorf("admin account: %w", err)
		}
	case !has:
		pw := survey.NewToken()[:16]
		err := store.SetPassword(ctx, "admin", survey.RoleAdmin, pw)
		if errors.Is(err, survey.ErrDuplicate) {
			// Another instance on the same database made it first.
			log.Info("the console account admin was made by another minping on this database")
			break
		}
		if err != nil {
			return fmt.Errorf("admin account: %w", err)
		}
		fmt.Fprintf(stdout, "created the console account admin with the password %s\n(shown this once; set MINPING_ADMIN_PASSWORD before the first start to choose your own, or run `minping passwd admin`)\n", pw)
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

// describePostgres names a PostgreSQL database for the log — user, host,
// port and name — without its password.
func describePostgres(dsn string) string {
	c, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "postgres (unparsable connection string)"
	}
	return fmt.Sprintf("postgres://%s@%s/%s", c.User, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), c.Database)
}
