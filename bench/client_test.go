package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLoadConn runs the bench's HTTP client against a real server on
// loopback through every framing an answer may have, on one connection
// where the server keeps it, and checks what it reports: the status, the
// body's length as sent, and that the request reached the server whole.
func TestLoadConn(t *testing.T) {
	var gotBody, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			if r.Method == http.MethodPost {
				b, _ := io.ReadAll(r.Body)
				gotBody, gotType = string(b), r.Header.Get("Content-Type")
			}
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "hello")
		case "/chunked":
			w.WriteHeader(http.StatusOK)
			for range 3 {
				io.WriteString(w, strings.Repeat("x", 1000))
				w.(http.Flusher).Flush()
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	lc := newLoadConn(strings.TrimPrefix(srv.URL, "http://"))
	defer lc.drop()

	steps := []struct {
		method, path string
		body         string
		status       int
		n            int64
		keep         bool
	}{
		{"POST", "/length", `{"answers":[]}`, 201, 5, true},
		{"GET", "/chunked", "", 200, 3000, true},
		{"GET", "/empty", "", 204, 0, true},
		{"GET", "/missing", "", 404, int64(len("404 page not found\n")), true},
		{"GET", "/close", "", 200, 3, false},
		{"GET", "/length", "", 201, 5, true}, // on a new connection
	}
	for _, st := range steps {
		var body []byte
		if st.body != "" {
			body = []byte(st.body)
		}
		before := lc.conn
		status, n, err := lc.do(st.method, st.path, jsonBody, body)
		if err != nil {
			t.Fatalf("%s %s: %v", st.method, st.path, err)
		}
		if status != st.status || n != st.n {
			t.Errorf("%s %s: status %d, %d body bytes; want %d, %d", st.method, st.path, status, n, st.status, st.n)
		}
		if (lc.conn != nil) != st.keep {
			t.Errorf("%s %s: connection kept = %v, want %v", st.method, st.path, lc.conn != nil, st.keep)
		}
		if before != nil && lc.conn != nil && lc.conn != before {
			t.Errorf("%s %s: a kept connection was replaced", st.method, st.path)
		}
	}
	if gotBody != `{"answers":[]}` || gotType != "application/json" {
		t.Errorf("the server got body %q, type %q", gotBody, gotType)
	}
}
