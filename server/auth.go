package server

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

const accountKey = "account"

// authenticate resolves the bearer token to an account: the configured
// MINPING_ADMIN_TOKEN, or a stored account's token. An address that has
// presented too many wrong tokens lately is refused (429) without a look.
func (s *api) authenticate(c *gin.Context) {
	addr := c.ClientIP()
	if s.badTokens.over(addr) {
		c.Header("Retry-After", strconv.Itoa(int(tokenWindow/time.Second)))
		s.fail(c, errTooMany)
		return
	}
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
		if errors.Is(err, survey.ErrUnauthorized) {
			s.badTokens.add(addr)
		}
		s.fail(c, err)
		return
	}
	c.Set(accountKey, a)
}

// Wrong bearer tokens an address may present in tokenWindow before it is
// refused for the rest of it. Tokens are 256 random bits, so this is about
// load and noise, not guessing; MinAdminToken keeps the configured one
// long too.
const (
	tokenFailures = 20
	tokenWindow   = time.Minute
	MinAdminToken = 32 // characters of MINPING_ADMIN_TOKEN
)

// failureCounts counts failures per address over a fixed window.
type failureCounts struct {
	mu    sync.Mutex
	now   func() time.Time
	start time.Time
	n     map[string]int
}

func newFailureCounts(now func() time.Time) *failureCounts {
	return &failureCounts{now: now, start: now(), n: map[string]int{}}
}

// roll starts a new window when the current one is over.
func (f *failureCounts) roll() {
	if now := f.now(); now.Sub(f.start) >= tokenWindow {
		f.start, f.n = now, map[string]int{}
	}
}

func (f *failureCounts) add(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll()
	f.n[addr]++
}

func (f *failureCounts) over(addr string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roll()
	return f.n[addr] >= tokenFailures
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
