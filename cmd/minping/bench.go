package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"minping/bench"
	"minping/server"
	"minping/survey"
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

	sc := server.Config{Addr: "127.0.0.1:0", Data: filepath.Join(dir, "data"), AdminToken: survey.NewToken()}
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
		URL: "http://" + ln.Addr().String(), Token: sc.AdminToken, Writer: store.WriterStats, Dir: dir,
	}, stdout)
}
