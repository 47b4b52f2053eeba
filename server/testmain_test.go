package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"minping/assets"
	"minping/survey"
	"minping/survey/postgres"
	"minping/survey/postgres/pgtest"
	"minping/survey/sqlite"
)

// testAdminToken is MINPING_ADMIN_TOKEN in every test server.
const testAdminToken = "test-admin-token-0123456789abcdef"

// printedCodeFormat is the printed form of a ballot code (CONTRACT §4).
var printedCodeFormat = regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$`)

// testOutput is a bytes.Buffer that the server's goroutines and the test may
// use at once.
type testOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *testOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *testOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is the real server struct over a real SQLite store in
// t.TempDir(), wired as serve wires it, behind an httptest server.
type testEnv struct {
	t     *testing.T
	srv   *Server
	store testStore
	ts    *httptest.Server
	dir   string
	logs  *testOutput
}

// testStore is what tests ask of the store under a test server.
type testStore interface {
	Store
	EachBallot(ctx context.Context, roundID string, fn func(unit, category, part string, answers []byte) error) error
}

// newTestEnv is a test server on a fresh SQLite store.
func newTestEnv(t *testing.T, change ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "minping.db"),
		sqlite.Options{CodeKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newTestEnvOn(t, store, dir, change...)
}

// newPostgresTestEnv is a test server on a PostgreSQL store, in a fresh
// database of the test server (pgtest); it skips without one, but in CI.
func newPostgresTestEnv(t *testing.T, change ...func(*Config)) *testEnv {
	t.Helper()
	dsn := pgtest.FreshDatabase(t)
	dir := t.TempDir()
	store, err := postgres.Open(context.Background(), dsn,
		postgres.Options{CodeKey: bytes.Repeat([]byte{9}, 32), KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newTestEnvOn(t, store, dir, change...)
}

// newTestEnvOn is a test server on store, with dir as its data directory.
func newTestEnvOn(t *testing.T, store testStore, dir string, change ...func(*Config)) *testEnv {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Data: dir, AdminToken: testAdminToken, Now: time.Now}
	for _, c := range change {
		c(&cfg)
	}
	logs := &testOutput{}
	srv, err := New(store, key, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testEnv{t: t, srv: srv, store: store, ts: ts, dir: dir, logs: logs}
}

// testResponse is what a test request got back.
type testResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r testResponse) String() string {
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body))
}

// decode reads the JSON body into v, failing the test if it cannot.
func (r testResponse) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

// testHTTPClient is a client that shows redirects instead of following them.
var testHTTPClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       60 * time.Second,
}

// testRequest sends a request to base+path. body is sent as is when it is a
// string or []byte, else as JSON. hdr holds header name, value pairs; a
// token of "" sends no Authorization.
func testRequest(t testing.TB, base, method, path, token string, body any, hdr ...string) testResponse {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := testHTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return testResponse{status: res.StatusCode, header: res.Header, body: b}
}

func (e *testEnv) do(method, path, token string, body any, hdr ...string) testResponse {
	e.t.Helper()
	return testRequest(e.t, e.ts.URL, method, path, token, body, hdr...)
}

// apiClient talks to one server as one account.
type apiClient struct {
	t     testing.TB
	base  string
	token string
}

func (e *testEnv) admin() apiClient { return apiClient{t: e.t, base: e.ts.URL, token: testAdminToken} }

func (a apiClient) do(method, path string, body any, hdr ...string) testResponse {
	a.t.Helper()
	return testRequest(a.t, a.base, method, path, a.token, body, hdr...)
}

// must sends a request and fails the test unless it gets status want.
func (a apiClient) must(want int, method, path string, body any, hdr ...string) testResponse {
	a.t.Helper()
	r := a.do(method, path, body, hdr...)
	if r.status != want {
		a.t.Fatalf("%s %s: got %s, want status %d", method, path, r, want)
	}
	return r
}

// createRound posts a definition (the example round by default) and
// returns the new round's id.
func (a apiClient) createRound(def ...[]byte) string {
	a.t.Helper()
	body := assets.Example()
	if len(def) > 0 {
		body = def[0]
	}
	var out struct{ ID string }
	a.must(http.StatusCreated, "POST", "/api/v1/rounds", body, "Content-Type", "application/yaml").decode(a.t, &out)
	if out.ID == "" {
		a.t.Fatal("create round: no id")
	}
	return out.ID
}

// issue issues n codes of unit and category and returns the batch id and
// the codes.
func (a apiClient) issue(round, unit, category string, n int) (string, []string) {
	a.t.Helper()
	var out struct {
		ID    string
		Codes []string
		Links []string
	}
	r := a.must(http.StatusCreated, "POST", "/api/v1/rounds/"+round+"/batches",
		map[string]any{"unit": unit, "category": category, "count": n})
	if err := json.Unmarshal(r.body, &out); err != nil {
		a.t.Fatal(err)
	}
	if len(out.Codes) != n {
		a.t.Fatalf("issue %d codes: got %d", n, len(out.Codes))
	}
	return out.ID, out.Codes
}

func (a apiClient) state(round, change string) {
	a.t.Helper()
	a.must(http.StatusOK, "POST", "/api/v1/rounds/"+round+"/"+change, nil)
}

// ballot fetches what a code is asked.
func (a apiClient) ballot(code string) ballotDoc {
	a.t.Helper()
	var d ballotDoc
	r := testRequest(a.t, a.base, "GET", "/api/v1/ballots/"+code, "", nil)
	if r.status != http.StatusOK {
		a.t.Fatalf("GET ballot: got %s, want 200", r)
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		a.t.Fatal(err)
	}
	return d
}

// answerAll answers every row of every form of a ballot: with
// choose(form, subject, row) when it returns a label, else with the
// second option (称职, 较好, 基本满意: never over a top limit).
func answerAll(d ballotDoc, choose func(form, subject, row string) string) []survey.Answer {
	var out []survey.Answer
	for _, f := range d.Forms {
		rows := append([]string(nil), f.Items...)
		if f.Overall != "" {
			rows = append(rows, f.Overall)
		}
		for _, s := range f.Subjects {
			for _, row := range rows {
				opt := ""
				if choose != nil {
					opt = choose(f.ID, s.ID, row)
				}
				if opt == "" {
					opt = f.Options[1]
				}
				out = append(out, survey.Answer{Unit: unitOnSheet(d, s.Unit), Form: f.ID, Subject: s.ID, Item: row, Option: opt})
			}
		}
	}
	return out
}

// unitOnSheet is the unit an answer names: "" on a ballot of one unit, as
// v1 clients send it, the subject's unit on a sheet of several.
func unitOnSheet(d ballotDoc, unit string) string {
	if len(d.Units) > 1 {
		return unit
	}
	return ""
}

// submitBallot posts answers for a code without a token and returns the response.
func submitBallot(t testing.TB, base, code string, answers []survey.Answer) testResponse {
	t.Helper()
	return testRequest(t, base, "POST", "/api/v1/ballots/"+code, "", map[string]any{"answers": answers})
}

// codeSpellings returns every way a voter may type a code: as printed, without
// dashes, and in lower case.
func codeSpellings(code string) []string {
	n := strings.ReplaceAll(code, "-", "")
	return []string{code, n, strings.ToLower(code), strings.ToLower(n)}
}

// runningMinping is minping started through Serve, as `minping serve` starts it.
type runningMinping struct {
	base           string
	data           string
	stdout, stderr *testOutput
	stop           func()
}

var servingLineRE = regexp.MustCompile(`minping serving on (http://\S+)`)

// startMinping runs Serve on a free port with a fresh data directory and
// waits until it says it is serving.
func startMinping(t *testing.T, change ...func(*Config)) *runningMinping {
	t.Helper()
	data := t.TempDir()
	r := &runningMinping{data: data, stdout: &testOutput{}, stderr: &testOutput{}}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	var runErr error
	cfg := Config{Addr: "127.0.0.1:0", Data: data, AdminToken: testAdminToken}
	for _, c := range change {
		c(&cfg)
	}
	go func() {
		defer close(exited)
		runErr = Serve(ctx, cfg, r.stdout, r.stderr)
	}()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-exited:
				if runErr != nil {
					t.Errorf("Serve returned %v, want nil after a graceful stop", runErr)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Serve did not return within 30 s of its context ending")
			}
		})
	}
	t.Cleanup(r.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := servingLineRE.FindStringSubmatch(r.stdout.String()); m != nil {
			r.base = m[1]
			return r
		}
		select {
		case <-exited:
			t.Fatalf("Serve ended before serving: %v\nstdout: %s\nstderr: %s", runErr, r.stdout, r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("Serve did not print its address within 60 s\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
}

func (r *runningMinping) admin(t *testing.T) apiClient {
	return apiClient{t: t, base: r.base, token: testAdminToken}
}
