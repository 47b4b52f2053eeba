package console

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

type accountsView struct {
	consolePage
	Accounts []conAccount
	Rounds   []*survey.Round
	Round    *survey.Round // the round whose units an appraiser form offers
	Problems []survey.Problem
	// Created is set once, right after an account is created or its
	// password reset: the only time the password is shown.
	Created  *survey.Account
	Password string
	Reset    bool
}

type conAccount struct {
	ID, Name, RoleName, Round string
	Role                      survey.Role
	Units                     []string
}

var roleNames = map[survey.Role]string{
	survey.RoleAdmin:     "管理员",
	survey.RoleOrganiser: "组织人员（考核办）",
	survey.RoleAppraiser: "考核组",
}

func (s *Console) newAccountsView(c *gin.Context) (accountsView, error) {
	ctx := c.Request.Context()
	v := accountsView{consolePage: s.newPage(c, "账号管理", "accounts")}
	accounts, err := s.store.Accounts(ctx)
	if err != nil {
		return v, err
	}
	rounds, err := s.store.Rounds(ctx)
	if err != nil {
		return v, err
	}
	v.Rounds = rounds
	byID := map[string]*survey.Round{}
	for _, r := range rounds {
		byID[r.ID] = r
		if r.ID == c.Query("round") || r.ID == c.PostForm("round") {
			v.Round = r
		}
	}
	for _, a := range accounts {
		row := conAccount{ID: a.ID, Name: a.Name, Role: a.Role, RoleName: roleNames[a.Role]}
		if r := byID[a.RoundID]; r != nil {
			row.Round = r.Name
			for _, u := range a.Units {
				if du := r.Definition.Unit(u); du != nil {
					row.Units = append(row.Units, du.Name)
				} else {
					row.Units = append(row.Units, u)
				}
			}
		}
		v.Accounts = append(v.Accounts, row)
	}
	return v, nil
}

func (s *Console) AccountsPage(c *gin.Context) {
	v, err := s.newAccountsView(c)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.host.HTML(c, http.StatusOK, "console-accounts", v)
}

// CreateAccountForm creates an organiser or appraiser account with a
// generated password, shown on the answer page once and never again.
func (s *Console) CreateAccountForm(c *gin.Context) {
	ctx := c.Request.Context()
	v, err := s.newAccountsView(c)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	password := newPassword()
	n := survey.NewAccount{Name: strings.TrimSpace(c.PostForm("name")), Role: survey.Role(c.PostForm("role")), Password: password}
	switch n.Role {
	case survey.RoleAppraiser:
		n.RoundID = c.PostForm("round")
		n.Units = c.PostFormArray("units")
	case survey.RoleOrganiser:
		n.RoundID = c.PostForm("round") // "": every round
	}
	a, _, err := s.store.CreateAccount(ctx, n)
	if err != nil {
		status, _ := s.host.Describe(err)
		v.Problems = survey.ProblemsOf(err)
		if status == http.StatusConflict {
			v.Problems = []survey.Problem{{Path: "用户名", Message: "用户名 “" + n.Name + "” 已被使用"}}
		} else if status == http.StatusInternalServerError {
			s.consoleFail(c, err)
			return
		}
		s.host.HTML(c, status, "console-accounts", v)
		return
	}
	s.log.Info("account created", "account", a.Name, "role", a.Role, "by", s.host.Account(c).Name)
	v, err = s.newAccountsView(c)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v.Created, v.Password = a, password
	s.host.HTML(c, http.StatusCreated, "console-accounts", v)
}

// ResetPasswordForm gives an account a new generated password, shown once,
// and signs all its sessions out.
func (s *Console) ResetPasswordForm(c *gin.Context) {
	ctx := c.Request.Context()
	accounts, err := s.store.Accounts(ctx)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	var target *survey.Account
	for _, a := range accounts {
		if a.ID == c.Param("account") {
			target = a
		}
	}
	if target == nil {
		s.consoleFail(c, survey.ErrNotFound)
		return
	}
	password := newPassword()
	if err := s.store.SetPassword(ctx, target.Name, target.Role, password); err != nil {
		s.consoleFail(c, err)
		return
	}
	if err := s.store.EndSessionsOf(ctx, target.Name); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.log.Info("password reset", "account", target.Name, "by", s.host.Account(c).Name)
	v, err := s.newAccountsView(c)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v.Created, v.Password, v.Reset = target, password, true
	s.host.HTML(c, http.StatusOK, "console-accounts", v)
}

// newPassword is a generated console password: 16 characters of a 256-bit
// token, 80 bits.
func newPassword() string {
	return survey.NewToken()[:16]
}

type sealedView struct {
	consolePage
	Units  []sealedUnit
	PubKey string
}

type sealedUnit struct {
	RoundID, Round, StatusName string
	Status                     survey.Status
	UnitID, Unit, Type         string
	Sealed                     bool
}

// SealedPage lists the units an appraisal group may read (an administrator:
// every unit of every round) with their rounds' status.
func (s *Console) SealedPage(c *gin.Context) {
	a := s.host.Account(c)
	rounds, err := s.store.Rounds(c.Request.Context())
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	v := sealedView{consolePage: s.newPage(c, "封存结果", "sealed"), PubKey: s.host.PubKey()}
	for _, r := range rounds {
		for _, u := range r.Definition.Units {
			if !a.CanRead(r.ID, u.ID) {
				continue
			}
			v.Units = append(v.Units, sealedUnit{RoundID: r.ID, Round: r.Name, Status: r.Status, StatusName: statusNames[r.Status],
				UnitID: u.ID, Unit: u.Name, Type: u.Type, Sealed: r.Status == survey.StatusSealed})
		}
	}
	s.host.HTML(c, http.StatusOK, "console-sealed", v)
}
