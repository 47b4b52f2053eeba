package console

import (
	"github.com/gin-gonic/gin"
)

// Rounds come and go: a draft (a rehearsal, a mistake) can be deleted, a
// sealed round archived out of the lists with its documents kept, and any
// round copied as a new draft — last year's definition and roster as this
// year's start.

// DeleteRound deletes a draft round.
func (s *Console) DeleteRound(c *gin.Context) {
	if err := s.store.DeleteRound(c.Request.Context(), c.Param("id")); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("round deleted from the console", "round", c.Param("id"), "by", s.host.Account(c).Name)
	consoleRedirect(c, "/console/rounds", "deleted")
}

// ArchiveRound hides a sealed round from the lists, or shows it again.
func (s *Console) ArchiveRound(c *gin.Context) {
	archived := c.PostForm("archived") != "0"
	if err := s.store.ArchiveRound(c.Request.Context(), c.Param("id"), archived); err != nil {
		s.consoleFail(c, err)
		return
	}
	ok := "archived"
	if !archived {
		ok = "unarchived"
	}
	consoleRedirect(c, "/console/rounds/"+c.Param("id"), ok)
}

// CopyRound makes a new draft from a round and opens it.
func (s *Console) CopyRound(c *gin.Context) {
	if !s.mayCreateRounds(c) {
		return
	}
	r, ok := s.round(c)
	if !ok {
		return
	}
	cp, err := s.store.CopyRound(c.Request.Context(), r.ID, r.Name+"（副本）")
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("round copied from the console", "from", r.ID, "round", cp.ID, "by", s.host.Account(c).Name)
	consoleRedirect(c, "/console/rounds/"+cp.ID, "copied")
}
