package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// consoleSeal seals a closed round from the console, through the same seal
// as the API, so that a seal from the console and one from a script cannot
// differ.
func (s *console) consoleSeal(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		s.consoleError(c, http.StatusUnprocessableEntity, "尚未确认", "请勾选确认框后再封存。")
		return
	}
	if _, err := s.sealer.seal(c.Request.Context(), c.Param("id")); err != nil {
		s.consoleError(c, statusOf(err), "封存未完成", messageOf(err))
		return
	}
	s.log.Info("round sealed from the console", "round", c.Param("id"), "by", account(c).Name)
	consoleRedirect(c, "/console/rounds/"+c.Param("id"), "sealed")
}
