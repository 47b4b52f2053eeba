package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

// Handler is every route of minping, with its middleware, top to bottom.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.SetTrustedProxies(nil)
	r.Use(s.requestLog(), s.recover(), securityHeaders())
	r.HandleMethodNotAllowed = true
	v, a, con := s.voter, s.api, s.console

	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/b") })
	r.GET("/static/:hash/*name", con.staticFile)

	// Voters: the mobile ballot. Paths carry the code and are never logged.
	r.GET("/b", v.enterCode)
	r.GET("/b/done", v.thanks)
	r.GET("/b/:code", v.ballotPage)
	r.POST("/b/:code", v.ballotPost)
	r.GET("/api/v1/ballots/:code", v.ballotGet)
	r.POST("/api/v1/ballots/:code", v.ballotSubmit)

	// The JSON API of organisers, administrators and appraisal groups.
	r.GET("/api/v1/pubkey", a.sealer.pubkey)
	in := r.Group("/api/v1", a.authenticate)
	{
		org := in.Group("", a.require(survey.RoleAdmin, survey.RoleOrganiser))
		org.GET("/rounds", a.listRounds)
		org.POST("/rounds", a.createRound)
		org.GET("/rounds/:id", a.getRound)
		org.PUT("/rounds/:id", a.updateRound)
		org.POST("/rounds/:id/open", a.openRound)
		org.POST("/rounds/:id/close", a.closeRound)
		org.POST("/rounds/:id/seal", a.sealRound)
		org.GET("/rounds/:id/batches", a.listBatches)
		org.POST("/rounds/:id/batches", a.issueBatch)
		org.POST("/rounds/:id/batches/:batch/void", a.voidBatch)
		org.GET("/rounds/:id/turnout", a.turnout)

		admin := in.Group("", a.require(survey.RoleAdmin))
		admin.POST("/accounts", a.createAccount)
		admin.GET("/rounds/:id/tally", a.document("", false))
		admin.GET("/rounds/:id/tally.sig", a.document("", true))

		// Sealed unit figures: admins, and appraisers for their own units.
		read := in.Group("", a.require(survey.RoleAdmin, survey.RoleAppraiser))
		read.GET("/rounds/:id/units/:unit/tally", a.document(":unit", false))
		read.GET("/rounds/:id/units/:unit/tally.sig", a.document(":unit", true))
		read.GET("/rounds/:id/report", a.report)
		read.GET("/rounds/:id/tally.xlsx", a.export(false))
		read.GET("/rounds/:id/tally.csv", a.export(true))
	}

	// The console. Roles: admin and organiser run rounds; only admin
	// manages accounts; appraiser reads sealed units. Bodies are bounded
	// before anything reads a form field: the session's form-token check and
	// the sign-in parse whole multipart bodies.
	cr := r.Group("/console", noStore, limitUpload, con.sameOrigin)
	cr.GET("/login", con.loginPage)
	cr.POST("/login", con.login)

	signed := cr.Group("", con.session, con.checkToken)
	signed.GET("", con.consoleHome)
	signed.POST("/logout", con.logout)
	signed.GET("/password", con.passwordPage)
	signed.POST("/password", con.changePassword)

	org := signed.Group("", con.consoleRole(survey.RoleAdmin, survey.RoleOrganiser))
	org.GET("/rounds", con.consoleRounds)
	org.GET("/rounds/new", con.newRoundPage)
	org.POST("/rounds/new", con.createRoundForm)
	org.GET("/roster-template.xlsx", con.rosterTemplate)
	org.GET("/rounds/:id", con.roundPage)
	org.GET("/rounds/:id/roster", con.rosterPage)
	org.POST("/rounds/:id/roster", con.importRoster)
	org.GET("/rounds/:id/roster-template.xlsx", con.rosterTemplate)
	org.GET("/rounds/:id/settings", con.settingsPage)
	org.POST("/rounds/:id/settings", con.saveSettings)
	org.POST("/rounds/:id/definition", con.saveDefinition)
	org.GET("/rounds/:id/definition.yaml", con.downloadDefinition)
	org.POST("/rounds/:id/open", con.consoleOpen)
	org.GET("/rounds/:id/close", con.closePage)
	org.POST("/rounds/:id/close", con.consoleClose)
	org.POST("/rounds/:id/seal", con.consoleSeal)
	org.GET("/rounds/:id/batches", con.batchesPage)
	org.POST("/rounds/:id/batches", con.consoleIssue)
	org.POST("/rounds/:id/batches/bulk", con.consoleIssueBulk)
	org.POST("/rounds/:id/batches/:batch/void", con.consoleVoid)
	org.GET("/rounds/:id/turnout", con.turnoutPage)
	org.GET("/rounds/:id/turnout.json", con.turnoutJSON)
	org.GET("/rounds/:id/screen", con.screenPage)

	admin := signed.Group("", con.consoleRole(survey.RoleAdmin))
	admin.GET("/accounts", con.accountsPage)
	admin.POST("/accounts", con.createAccountForm)
	admin.POST("/accounts/:account/password", con.resetPasswordForm)

	// The sealed figures, as the API serves them, for a signed-in reader.
	read := signed.Group("", con.consoleRole(survey.RoleAdmin, survey.RoleAppraiser))
	read.GET("/sealed", con.sealedPage)
	read.GET("/rounds/:id/report", a.report)
	read.GET("/rounds/:id/tally.xlsx", a.export(false))
	read.GET("/rounds/:id/tally.csv", a.export(true))
	read.GET("/rounds/:id/units/:unit/tally", a.document(":unit", false))
	read.GET("/rounds/:id/units/:unit/tally.sig", a.document(":unit", true))
	return r
}
