package server

import (
	"strings"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

const accountKey = "account"

// authenticate resolves the bearer token to an account: the configured
// MINPING_ADMIN_TOKEN, or a stored account's token.
func (s *api) authenticate(c *gin.Context) {
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		s.fail(c, survey.ErrUnauthorized)
		return
	}
	if survey.TokenMatches(token, s.cfg.AdminToken) {
		c.Set(accountKey, &survey.Account{ID: "env", Name: "admin (MINPING_ADMIN_TOKEN)", Role: survey.RoleAdmin})
		return
	}
	a, err := s.store.AccountByToken(c.Request.Context(), token)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(accountKey, a)
}

// require lets through only accounts with one of the roles.
func (s *api) require(roles ...survey.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := account(c)
		for _, r := range roles {
			if a != nil && a.Role == r {
				return
			}
		}
		s.fail(c, errForbidden)
	}
}

// manages lets through a request about round :id only if the account may
// run that round; others get 404, as for a round that does not exist.
func (s *api) manages(c *gin.Context) {
	if id := c.Param("id"); id != "" && !account(c).CanManage(id) {
		s.fail(c, survey.ErrNotFound)
	}
}

func account(c *gin.Context) *survey.Account {
	v, _ := c.Get(accountKey)
	a, _ := v.(*survey.Account)
	return a
}
