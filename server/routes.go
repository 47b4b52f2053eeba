package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Handler is every route of minping, with its middleware, top to bottom.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.SetTrustedProxies(nil)
	r.Use(s.requestLog(), s.recover(), securityHeaders())
	r.HandleMethodNotAllowed = true

	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/b") })

	// Voters: the mobile ballot. Paths carry the code and are never logged.
	r.GET("/b", s.enterCode)
	r.GET("/b/done", s.thanks)
	r.GET("/b/:code", s.ballotPage)
	r.POST("/b/:code", s.ballotPost)
	r.GET("/api/v1/ballots/:code", s.ballotGet)
	r.POST("/api/v1/ballots/:code", s.ballotSubmit)

	// Organisers, administrators and appraisal groups.
	r.GET("/api/v1/pubkey", s.pubkey)
	api := r.Group("/api/v1", s.authenticate)
	{
		org := api.Group("", s.require("admin", "organiser"))
		org.GET("/rounds", s.listRounds)
		org.POST("/rounds", s.createRound)
		org.GET("/rounds/:id", s.getRound)
		org.PUT("/rounds/:id", s.updateRound)
		org.POST("/rounds/:id/open", s.openRound)
		org.POST("/rounds/:id/close", s.closeRound)
		org.POST("/rounds/:id/seal", s.sealRound)
		org.GET("/rounds/:id/batches", s.listBatches)
		org.POST("/rounds/:id/batches", s.issueBatch)
		org.POST("/rounds/:id/batches/:batch/void", s.voidBatch)
		org.GET("/rounds/:id/turnout", s.turnout)

		admin := api.Group("", s.require("admin"))
		admin.POST("/accounts", s.createAccount)
		admin.GET("/rounds/:id/tally", s.document("", false))
		admin.GET("/rounds/:id/tally.sig", s.document("", true))

		// Sealed unit figures: admins, and appraisers for their own units.
		read := api.Group("", s.require("admin", "appraiser"))
		read.GET("/rounds/:id/units/:unit/tally", s.document(":unit", false))
		read.GET("/rounds/:id/units/:unit/tally.sig", s.document(":unit", true))
		read.GET("/rounds/:id/report", s.report)
		read.GET("/rounds/:id/tally.xlsx", s.export(false))
		read.GET("/rounds/:id/tally.csv", s.export(true))
	}
	s.consoleRoutes(r)
	return r
}
