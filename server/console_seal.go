package main

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// consoleSeal seals a closed round from the console. It runs the API's own
// seal handler (sealRound), so that a seal from the console and one from a
// script cannot differ, catches its JSON answer and turns it into a page.
func (s *server) consoleSeal(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		s.consoleError(c, http.StatusUnprocessableEntity, "尚未确认", "请勾选确认框后再封存。")
		return
	}
	caught := &caughtResponse{ResponseWriter: c.Writer, header: http.Header{}, status: http.StatusOK}
	c.Writer = caught
	s.sealRound(c)
	c.Writer = caught.ResponseWriter
	if caught.status != http.StatusOK {
		var e apiError
		_ = json.Unmarshal(caught.body.Bytes(), &e)
		if e.Error == "" {
			e.Error = "封存未完成"
		}
		s.consoleError(c, caught.status, "封存未完成", e.Error)
		return
	}
	s.log.Info("round sealed from the console", "round", c.Param("id"), "by", account(c).Name)
	consoleRedirect(c, "/console/rounds/"+c.Param("id"), "sealed")
}

// caughtResponse holds a handler's response instead of sending it.
type caughtResponse struct {
	gin.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *caughtResponse) Header() http.Header               { return w.header }
func (w *caughtResponse) WriteHeader(code int)              { w.status = code }
func (w *caughtResponse) WriteHeaderNow()                   {}
func (w *caughtResponse) Write(b []byte) (int, error)       { return w.body.Write(b) }
func (w *caughtResponse) WriteString(s string) (int, error) { return w.body.WriteString(s) }
func (w *caughtResponse) Status() int                       { return w.status }
func (w *caughtResponse) Size() int                         { return w.body.Len() }
func (w *caughtResponse) Written() bool                     { return false }
