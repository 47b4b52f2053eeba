package console

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Seal seals a closed round from the console, through the same seal
// as the API, so that a seal from the console and one from a script cannot
// differ.
func (s *Console) Seal(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		s.consoleError(c, http.StatusUnprocessableEntity, "尚未确认", "请勾选确认框后再封存。")
		return
	}
	if _, err := s.host.Seal(c.Request.Context(), c.Param("id")); err != nil {
		status, text := s.host.Describe(err)
		s.consoleError(c, status, "封存未完成", text)
		return
	}
	s.log.Info("round sealed from the console", "round", c.Param("id"), "by", s.host.Account(c).Name)
	consoleRedirect(c, "/console/rounds/"+c.Param("id"), "sealed")
}
