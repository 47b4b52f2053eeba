package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// loadConn is the load generator's HTTP/1.1 client: one keep-alive
// connection per worker, each request written whole in one call, each
// answer read with no more parsing than its framing needs. The bench runs
// its clients on the same cores as the server it measures; Go's net/http
// client (a request object, header maps and two goroutine hand-offs per
// request) cost about as much CPU as the server did and so held every rate
// down. Like wrk, this one costs little, and the figures are minping's.
type loadConn struct {
	addr string // host:port, loopback
	conn net.Conn
	br   *bufio.Reader
	buf  []byte // the request being written
}

func newLoadConn(addr string) *loadConn { return &loadConn{addr: addr} }

// do sends one request and reads the whole answer. It returns the status
// and the length of the body as sent (before any decoding). A connection
// that fails, or that the server closes, is dropped and made afresh by the
// next request.
func (lc *loadConn) do(method, target string, headers []string, body []byte) (status int, n int64, err error) {
	if lc.conn == nil {
		c, err := net.DialTimeout("tcp", lc.addr, 10*time.Second)
		if err != nil {
			return 0, 0, err
		}
		lc.conn = c
		if lc.br == nil {
			lc.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			lc.br.Reset(c)
		}
	}
	b := append(lc.buf[:0], method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, lc.addr...)
	b = append(b, "\r\n"...)
	for _, h := range headers {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	lc.buf = b
	lc.conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := lc.conn.Write(b); err != nil {
		lc.drop()
		return 0, 0, err
	}
	status, n, keep, err := readResponse(lc.br)
	if err != nil || !keep {
		lc.drop()
	}
	return status, n, err
}

func (lc *loadConn) drop() {
	if lc.conn != nil {
		lc.conn.Close()
		lc.conn = nil
	}
}

// readResponse reads one HTTP/1.1 response to a request other than HEAD,
// discarding its body. keep is false when the connection cannot carry
// another request.
func readResponse(br *bufio.Reader) (status int, n int64, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return status, 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, 0, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return status, 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			}
		}
	}
	switch {
	case status/100 == 1 || status == 204 || status == 304:
		return status, 0, keep, nil
	case chunked:
		n, err = discardChunks(br)
		return status, n, keep && err == nil, err
	case length >= 0:
		d, err := br.Discard(int(length))
		return status, int64(d), keep && err == nil, err
	default: // the body runs to the end of the connection
		n, err = io.Copy(io.Discard, br)
		return status, n, false, err
	}
}

func discardChunks(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return n, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		k, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || k < 0 {
			return n, fmt.Errorf("bad chunk size %q", line)
		}
		if k == 0 { // trailers, then the blank line
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return n, err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return n, nil
				}
			}
		}
		d, err := br.Discard(int(k))
		n += int64(d)
		if err != nil {
			return n, err
		}
		if crlf, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return n, errors.New("chunk not followed by CRLF")
		}
	}
}
