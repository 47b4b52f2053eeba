package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"minping/server/console"
	"minping/survey"
)

// Handler is every route of minping, with its middleware, top to bottom.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		panic(err) // New checked them
	}
	r.Use(s.requestLog(), s.recover(), securityHeaders(s.csp))
	r.HandleMethodNotAllowed = true

	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsHere)
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/b") })
	r.GET("/favicon.ico", func(c *gin.Context) { // none: say so, and let browsers keep that
		c.Header("Cache-Control", "public, max-age=86400")
		c.Status(http.StatusNoContent)
	})
	r.GET("/static/:hash/*name", s.console.StaticFile)
	voterRoutes(r, s.voter)
	apiRoutes(r, s.api)
	consoleRoutes(r, s.console, s.api)
	return r
}

// voterRoutes are the mobile ballot's. Paths carry the code and are never
// logged.
func voterRoutes(r *gin.Engine, v *voter) {
	r.GET("/b", v.enterCode)
	r.GET("/b/done", v.thanks)
	r.GET("/b/:code", v.ballotPage)
	r.POST("/b/:code", v.ballotPost)
	r.GET("/api/v1/ballots/:code", v.ballotGet)
	r.POST("/api/v1/ballots/:code", v.ballotSubmit)
}

// apiRoutes are the JSON API's, for organisers, administrators and
// appraisal groups.
func apiRoutes(r *gin.Engine, a *api) {
	r.GET("/api/v1/pubkey", a.sealer.pubkey)
	in := r.Group("/api/v1", a.authenticate)
	{
		org := in.Group("", a.require(survey.RoleAdmin, survey.RoleOrganiser), a.manages)
		org.GET("/rounds", a.listRounds)
		org.POST("/rounds", a.createRound)
		org.GET("/rounds/:id", a.getRound)
		org.PUT("/rounds/:id", a.updateRound)
		org.DELETE("/rounds/:id", a.deleteRound)
		org.POST("/rounds/:id/archive", a.archiveRound)
		org.POST("/rounds/:id/copy", a.copyRound)
		org.PUT("/rounds/:id/roster", a.putRoster)
		org.POST("/rounds/:id/open", a.openRound)
		org.POST("/rounds/:id/close", a.closeRound)
		org.POST("/rounds/:id/seal", a.sealRound)
		org.GET("/rounds/:id/batches", a.listBatches)
		org.POST("/rounds/:id/batches", a.issueBatch)
		org.POST("/rounds/:id/batches/:batch/void", a.voidBatch)
		org.GET("/rounds/:id/turnout", a.turnout)
		org.PUT("/rounds/:id/results", a.putResults)
		org.POST("/rounds/:id/finalize", a.finalize)
		org.GET("/rounds/:id/results", a.results(false))
		org.GET("/rounds/:id/results.sig", a.results(true))
		org.GET("/rounds/:id/publication", a.publication(""))
		org.GET("/rounds/:id/publication.xlsx", a.publication("xlsx"))

		admin := in.Group("", a.require(survey.RoleAdmin))
		admin.POST("/accounts", a.createAccount)
		admin.GET("/rounds/:id/tally", a.document("", false))
		admin.GET("/rounds/:id/tally.sig", a.document("", true))

		// Sealed unit figures: admins, and appraisers for their own units.
		read := in.Group("", a.require(survey.RoleAdmin, survey.RoleAppraiser))
		read.GET("/rounds/:id/units/:unit/tally", a.document(":unit", false))
		read.GET("/rounds/:id/units/:unit/tally.sig", a.document(":unit", true))
		read.GET("/rounds/:id/units/:unit/letter", a.letter)
		read.GET("/rounds/:id/report", a.report)
		read.GET("/rounds/:id/tally.xlsx", a.export(false))
		read.GET("/rounds/:id/tally.csv", a.export(true))
	}
}

// consoleRoutes are the console's. Roles: admin and organiser run rounds;
// only admin manages accounts; appraiser reads sealed units, which the API's
// handlers serve. Bodies are bounded before anything reads a form field:
// the session's form-token check and the sign-in parse whole multipart
// bodies.
func consoleRoutes(r *gin.Engine, con *console.Console, a *api) {
	cr := r.Group("/console", console.NoStore, console.LimitUpload, con.SameOrigin)
	cr.GET("/login", con.LoginPage)
	cr.POST("/login", con.Login)

	signed := cr.Group("", con.Session, con.CheckToken)
	signed.GET("", con.Home)
	signed.POST("/logout", con.Logout)
	signed.GET("/password", con.PasswordPage)
	signed.POST("/password", con.ChangePassword)

	org := signed.Group("", con.Role(survey.RoleAdmin, survey.RoleOrganiser), con.Manages)
	org.GET("/rounds", con.Rounds)
	org.GET("/rounds/new", con.NewRoundPage)
	org.POST("/rounds/new", con.CreateRoundForm)
	org.GET("/roster-template.xlsx", con.RosterTemplate)
	org.GET("/rounds/:id", con.RoundPage)
	org.GET("/rounds/:id/roster", con.RosterPage)
	org.POST("/rounds/:id/roster", con.ImportRoster)
	org.GET("/rounds/:id/roster-template.xlsx", con.RosterTemplate)
	org.GET("/rounds/:id/settings", con.SettingsPage)
	org.POST("/rounds/:id/settings", con.SaveSettings)
	org.POST("/rounds/:id/definition", con.SaveDefinition)
	org.GET("/rounds/:id/scheme", con.SchemePage)
	org.POST("/rounds/:id/scheme", con.SaveScheme)
	org.POST("/rounds/:id/delete", con.DeleteRound)
	org.POST("/rounds/:id/archive", con.ArchiveRound)
	org.POST("/rounds/:id/copy", con.CopyRound)
	org.GET("/rounds/:id/definition.yaml", con.DownloadDefinition)
	org.POST("/rounds/:id/open", con.Open)
	org.GET("/rounds/:id/close", con.ClosePage)
	org.POST("/rounds/:id/close", con.Close)
	org.POST("/rounds/:id/seal", con.Seal)
	org.GET("/rounds/:id/batches", con.BatchesPage)
	org.POST("/rounds/:id/batches", con.Issue)
	org.POST("/rounds/:id/batches/bulk", con.IssueBulk)
	org.POST("/rounds/:id/batches/:batch/void", con.Void)
	org.GET("/rounds/:id/print/:job", con.Reprint)
	org.POST("/rounds/:id/base-url", con.SetBaseURL)
	org.POST("/rounds/:id/print/:job/done", con.Printed)
	org.GET("/rounds/:id/turnout", con.TurnoutPage)
	org.GET("/rounds/:id/turnout.json", con.TurnoutJSON)
	org.GET("/rounds/:id/screen", con.ScreenPage)
	org.GET("/rounds/:id/results", con.ResultsPage)
	org.POST("/rounds/:id/results", con.UploadResults)
	org.GET("/rounds/:id/results-template.xlsx", con.ResultsTemplate)
	org.POST("/rounds/:id/finalize", con.Finalize)
	org.GET("/rounds/:id/results.json", a.results(false))
	org.GET("/rounds/:id/results.sig", a.results(true))
	org.GET("/rounds/:id/publication", a.publication("html"))
	org.GET("/rounds/:id/publication.xlsx", a.publication("xlsx"))
	org.GET("/rounds/:id/letters/:unit", a.letter)
	admin := signed.Group("", con.Role(survey.RoleAdmin))
	admin.GET("/accounts", con.AccountsPage)
	admin.POST("/accounts", con.CreateAccountForm)
	admin.POST("/accounts/:account/password", con.ResetPasswordForm)

	// The sealed figures, as the API serves them, for a signed-in reader.
	read := signed.Group("", con.Role(survey.RoleAdmin, survey.RoleAppraiser))
	read.GET("/sealed", con.SealedPage)
	read.GET("/rounds/:id/report", a.report)
	read.GET("/rounds/:id/tally.xlsx", a.export(false))
	read.GET("/rounds/:id/tally.csv", a.export(true))
	read.GET("/rounds/:id/units/:unit/tally", a.document(":unit", false))
	read.GET("/rounds/:id/units/:unit/tally.sig", a.document(":unit", true))
	read.GET("/rounds/:id/units/:unit/letter", a.letter)
}
