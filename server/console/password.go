package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

type passwordView struct {
	consolePage
	Problems []survey.Problem
	Min      int
}

func (s *Console) PasswordPage(c *gin.Context) {
	s.host.HTML(c, http.StatusOK, "console-password", passwordView{consolePage: s.newPage(c, "修改密码", ""), Min: survey.MinPasswordRunes})
}

// ChangePassword lets a signed-in user replace their own password, given
// the current one (checked and throttled like a sign-in). Every session of
// the account ends, and this browser gets a new one.
func (s *Console) ChangePassword(c *gin.Context) {
	ctx := c.Request.Context()
	a := s.host.Account(c)
	current, next, again := c.PostForm("current"), c.PostForm("new"), c.PostForm("again")
	v := passwordView{consolePage: s.newPage(c, "修改密码", ""), Min: survey.MinPasswordRunes}
	refuse := func(status int, ps ...survey.Problem) {
		v.Problems = ps
		s.host.HTML(c, status, "console-password", v)
	}
	var ps []survey.Problem
	if current == "" {
		ps = append(ps, survey.Problem{Path: "当前密码", Message: "请输入当前密码"})
	}
	if np := survey.PasswordProblems("新密码", a.Name, next); len(np) > 0 {
		ps = append(ps, np...)
	} else if next == current {
		ps = append(ps, survey.Problem{Path: "新密码", Message: "与当前密码相同"})
	}
	if again != next {
		ps = append(ps, survey.Problem{Path: "再次输入新密码", Message: "两次输入的新密码不一致"})
	}
	if len(ps) > 0 {
		refuse(http.StatusUnprocessableEntity, ps...)
		return
	}

	_, wait, err := s.checkPassword(c, a.Name, current)
	switch {
	case wait > 0:
		refuse(http.StatusTooManyRequests, survey.Problem{Message: fmt.Sprintf("密码输错次数过多，请 %s后再试。", waitText(wait))})
		return
	case errors.Is(err, survey.ErrUnauthorized):
		s.log.Info("console password change refused", "account", a.Name, "client", clientIP(c))
		refuse(http.StatusUnprocessableEntity, survey.Problem{Path: "当前密码", Message: "当前密码不正确"})
		return
	case err != nil:
		s.consoleFail(c, err)
		return
	}
	if err := s.store.SetPassword(ctx, a.Name, a.Role, next); err != nil {
		s.consoleFail(c, err)
		return
	}
	if err := s.store.EndSessionsOf(ctx, a.Name); err != nil {
		s.consoleFail(c, err)
		return
	}
	if err := s.startSession(c, a); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("console password changed", "account", a.Name)
	c.Redirect(http.StatusSeeOther, "/console?ok=password")
}
