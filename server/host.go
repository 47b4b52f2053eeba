package server

import (
	"context"

	"github.com/gin-gonic/gin"

	"minping/server/console"
	"minping/survey"
	"minping/tally"
)

// host is the server as the console sees it (console.Host): the responses,
// account, links, print sheets and sealing the API uses too.
type host struct {
	*base
	sealer *sealer
}

var _ console.Host = host{}

func (h host) HTML(c *gin.Context, status int, name string, data any) { h.html(c, status, name, data) }
func (h host) Fail(c *gin.Context, err error)                         { h.fail(c, err) }
func (h host) Describe(err error) (int, string)                       { return statusOf(err), messageOf(err) }
func (h host) Account(c *gin.Context) *survey.Account                 { return account(c) }
func (h host) SetAccount(c *gin.Context, a *survey.Account)           { c.Set(accountKey, a) }
func (h host) BaseURL(c *gin.Context) string                          { return h.baseURL(c) }
func (h host) PubKey() string                                         { return h.sealer.pubKeyB64() }

func (h host) PrintView(r *survey.Round, issued []survey.Issued, base string, nav *console.PrintNav) (any, error) {
	v, err := newPrintView(r, issued, base)
	v.Nav = nav
	return v, err
}

func (h host) Seal(ctx context.Context, roundID string) (*tally.RoundResult, error) {
	return h.sealer.seal(ctx, roundID)
}

func (h host) SaveResults(c *gin.Context, r *survey.Round, entries []tally.Entry) (int, error) {
	return h.sealer.saveResults(c, r, entries)
}

func (h host) Finalize(c *gin.Context, roundID string) error {
	_, err := h.sealer.finalize(c, roundID)
	return err
}
