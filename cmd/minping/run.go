package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"minping/seal"
	"minping/server"
	"minping/server/datadir"
	"minping/survey"
	"minping/survey/sqlite"
)

// usageError makes run exit with status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

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
	switch {
	case len(args) == 0:
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
		cmd = "help"
	case !strings.HasPrefix(args[0], "-"):
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCommand(ctx, args, getenv, stdout, stderr)
	case "verify":
		err = verifyCommand(args, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, args, stdout, stderr)
	case "recount":
		err = recountCommand(ctx, args, getenv, stdout, stderr)
	case "compact":
		err = compactCommand(ctx, args, getenv, stdout, stderr)
	case "version":
		err = versionCommand(args, stdout)
	case "passwd":
		err = passwdCommand(ctx, args, getenv, stdout, stderr)
	case "merge":
		err = mergeCommand(args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		err = usageError{fmt.Errorf("unknown command %q\n%s", cmd, usage)}
	}
	if errors.Is(err, flag.ErrHelp) { // a command's -h: its flags were printed
		return nil
	}
	return err
}

const usage = `usage:
  minping [serve] [--addr :8080] [--data DIR] [--keys DIR] [--base-url URL] [--db FILE]
  minping verify  --pubkey B64 DOCUMENT SIGNATURE
  minping recount [--data DIR] [--keys DIR] ROUND
  minping compact [--data DIR] [--keys DIR]
  minping passwd  [--data DIR] [--password-file FILE] NAME   set a console password (generated unless given)
  minping merge   --grading FILE [--out merged.json] [--check] DOCUMENT SIGNATURE PUBKEY ...   rank regional servers' sealed documents together
  minping bench   [-clients 64,256] [-duration 5s] [-rounds 5] [-codes 200000]   load test on loopback
  minping version
Each command's flags: minping COMMAND -h
`

// parseFlags reads the flags of serve, or of a command that opens a data
// directory (only --data and --db), each of which also reads an
// environment variable, and returns the config and the other arguments.
func parseFlags(name string, args []string, getenv func(string) string, stderr io.Writer, more ...func(*flag.FlagSet)) (server.Config, []string, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c server.Config
	fs.StringVar(&c.Data, "data", env("MINPING_DATA", "minping-data"), "data directory: the database (MINPING_DATA)")
	fs.StringVar(&c.Keys, "keys", env("MINPING_KEYS", ""), "key directory: code.key and seal.key, kept out of the data directory (MINPING_KEYS); default DATA-keys")
	fs.StringVar(&c.DB, "db", env("MINPING_DB", ""), "SQLite database file, or a PostgreSQL URL postgres://… or key=value string (MINPING_DB); default DATA/minping.db")
	fs.BoolVar(&c.AllowUnsafeDB, "allow-unsafe-db-settings", env("MINPING_ALLOW_UNSAFE_DB_SETTINGS", "") == "true", "open PostgreSQL even with settings that record statements, parameters or commit times (MINPING_ALLOW_UNSAFE_DB_SETTINGS): ballots could be tied to codes")
	if name == "serve" {
		fs.StringVar(&c.Addr, "addr", env("MINPING_ADDR", ":8080"), "address to listen on (MINPING_ADDR)")
		fs.StringVar(&c.BaseURL, "base-url", env("MINPING_BASE_URL", ""), "public URL that QR links point to, e.g. https://mp.example.gov.cn (MINPING_BASE_URL); default: taken from each request")
		fs.BoolVar(&c.Demo, "demo", env("MINPING_DEMO", "true") == "true", "on a first start, load the example round as a draft (MINPING_DEMO)")
		fs.Func("trusted-proxies", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (MINPING_TRUSTED_PROXIES)", func(v string) error {
			c.TrustedProxies = splitList(v)
			return nil
		})
		c.TrustedProxies = splitList(getenv("MINPING_TRUSTED_PROXIES"))
		fs.Func("tz", "time zone of the times pages, reports and workbooks show (MINPING_TZ; default Asia/Shanghai)", func(v string) error {
			loc, err := time.LoadLocation(v)
			c.TZ = loc
			return err
		})
		fs.StringVar(&c.MetricsAddr, "metrics-addr", env("MINPING_METRICS_ADDR", ""), "serve Prometheus /metrics on this address of its own, e.g. 127.0.0.1:9180 (MINPING_METRICS_ADDR); default: /metrics on --addr, to loopback clients only")
		fs.Func("log-format", "text or json (MINPING_LOG_FORMAT; default text)", func(v string) error {
			switch v {
			case "text", "json":
				c.LogJSON = v == "json"
				return nil
			}
			return fmt.Errorf("log format %q: want text or json", v)
		})
		switch v := getenv("MINPING_LOG_FORMAT"); v {
		case "", "text":
		case "json":
			c.LogJSON = true
		default:
			return c, nil, usageError{fmt.Errorf("MINPING_LOG_FORMAT %q: want text or json", v)}
		}
		if v := getenv("MINPING_TZ"); v != "" {
			loc, err := time.LoadLocation(v)
			if err != nil {
				return c, nil, usageError{fmt.Errorf("MINPING_TZ: %w", err)}
			}
			c.TZ = loc
		}
	}
	for _, m := range more {
		m(fs)
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, usageError{err}
	}
	c.AdminToken = getenv("MINPING_ADMIN_TOKEN")
	c.AdminPassword = getenv("MINPING_ADMIN_PASSWORD")
	return c, fs.Args(), nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// serveCommand runs minping until ctx ends.
func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q", rest[0])}
	}
	return server.Serve(ctx, cfg, stdout, stderr)
}

// recountCommand recomputes every document of a sealed round from the
// stored ballots and reports whether each is byte-identical to the sealed
// one: the tool for 复核 and 申诉. Exit 0 iff all are.
func recountCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("recount", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{errors.New("usage: minping recount [--data DIR] ROUND")}
	}
	store, err := server.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := seal.Recount(ctx, store, rest[0])
	if err != nil {
		return fmt.Errorf("recount: %w", err)
	}
	differ := 0
	for _, c := range rep.Checks {
		name := "round document"
		if c.Unit != "" {
			name = "unit " + c.Unit
		}
		switch c.Outcome {
		case seal.Missing:
			differ++
			fmt.Fprintf(stdout, "MISSING    %s: %v\n", name, c.Err)
		case seal.Identical:
			fmt.Fprintf(stdout, "identical  %s (%d bytes)\n", name, c.Size)
		default:
			differ++
			fmt.Fprintf(stdout, "DIFFERENT  %s: the recount does not reproduce the sealed bytes\n", name)
		}
	}
	if differ > 0 {
		return fmt.Errorf("recount: %d of %d documents differ from the sealed ones", differ, len(rep.Checks))
	}
	fmt.Fprintf(stdout, "recount of %q: all %d documents identical to the sealed ones (ballots_sha256 %s)\n", rep.Round.Name, len(rep.Checks), rep.BallotsSHA256)
	return nil
}

// compactCommand rebuilds the database file of a data directory, as closing
// a round does: for when a close or seal said its compaction is owed, and
// before copying the directory.
func compactCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags("compact", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("compact: unexpected argument %q", rest[0])}
	}
	if datadir.IsPostgres(cfg.DB) {
		return fmt.Errorf("compact: only an SQLite file is compacted; PostgreSQL needs none")
	}
	store, err := server.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	c, ok := store.(interface{ Compact(context.Context) error })
	if !ok {
		return fmt.Errorf("compact: only an SQLite file is compacted; this store needs none")
	}
	if err := c.Compact(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "compacted: the database file is rebuilt; no page order from the voting remains")
	return nil
}

// passwdCommand sets the console password of an account that exists, from
// --password-file (e.g. /dev/stdin; it must pass the password policy) or
// generated and printed once, and signs the account out everywhere: the way
// back in for an administrator who lost the password or is held back.
func passwdCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var file string
	cfg, rest, err := parseFlags("passwd", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&file, "password-file", "", "read the new password from this file (its first line); default: generate one")
	})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{errors.New("usage: minping passwd [--data DIR] [--password-file FILE] NAME")}
	}
	name := rest[0]
	store, err := server.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer store.Close()
	accounts, err := store.Accounts(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(accounts, func(a *survey.Account) bool { return a.Name == name })
	if i < 0 {
		return fmt.Errorf("passwd: no account %q", name)
	}
	password, generated := survey.NewToken()[:16], true
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("passwd: %w", err)
		}
		password, _, _ = strings.Cut(string(b), "\n")
		password, generated = strings.TrimSuffix(password, "\r"), false
		if ps := survey.PasswordProblems("password", name, password); len(ps) > 0 {
			return fmt.Errorf("passwd: %w", &survey.ValidationError{Problems: ps})
		}
	}
	if err := store.SetPassword(ctx, name, accounts[i].Role, password); err != nil {
		return fmt.Errorf("passwd: %w", err)
	}
	if err := store.EndSessionsOf(ctx, name); err != nil {
		return fmt.Errorf("passwd: %w", err)
	}
	if generated {
		fmt.Fprintf(stdout, "the console password of %s is now %s (shown this once); every session of it has ended\n", name, password)
	} else {
		fmt.Fprintf(stdout, "the console password of %s is set; every session of it has ended\n", name)
	}
	return nil
}

// versionCommand prints minping's module version and commit, and the Go
// and SQLite it was built with.
func versionCommand(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("version: unexpected argument %q", args[0])}
	}
	version, commit := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					commit += " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(stdout, "minping %s\ncommit  %s\ngo      %s %s/%s\nsqlite  %s, %s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, sqlite.LibVersion(), sqlite.Driver)
	return nil
}
