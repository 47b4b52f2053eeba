package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

// Console sign-in: a session cookie holding a random secret (the store keeps
// only its hash), HttpOnly, SameSite=Strict, Secure when the console is
// reached over TLS; a per-session form token against cross-site forgery;
// and a growing delay after repeated failed sign-ins.

const (
	SessionCookie = "minping_session" // the console session cookie's name
	LoginCookie   = "minping_login"   // the sign-in form's own anti-forgery token
	csrfField     = "csrf"
	csrfKey       = "csrf"
)

// secure reports whether cookies should be marked Secure: the request came
// over TLS, or through the TLS front (--base-url https://HOST) for that host.
func (s *Console) secure(c *gin.Context) bool {
	if c.Request.TLS != nil {
		return true
	}
	u, err := url.Parse(s.baseURL)
	return err == nil && u.Scheme == "https" && strings.EqualFold(u.Host, c.Request.Host)
}

func (s *Console) setCookie(c *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode,
	})
}

// Session resolves the session cookie to its account. Without one, a page
// request is sent to sign in and comes back after; anything else gets 401.
func (s *Console) Session(c *gin.Context) {
	token, _ := c.Cookie(SessionCookie)
	a, err := s.store.SessionAccount(c.Request.Context(), token)
	if err == nil {
		s.host.SetAccount(c, a)
		c.Set(csrfKey, formToken(token))
		return
	}
	if !errors.Is(err, survey.ErrUnauthorized) {
		s.consoleFail(c, err)
		return
	}
	if token != "" {
		s.setCookie(c, SessionCookie, "", "/console", -1)
	}
	if c.Request.Method == http.MethodGet && !strings.HasSuffix(c.Request.URL.Path, ".json") {
		c.Redirect(http.StatusSeeOther, "/console/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	if strings.HasSuffix(c.Request.URL.Path, ".json") {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "登录已过期，请重新登录"})
		return
	}
	s.consoleError(c, http.StatusUnauthorized, "登录已过期", "您的登录已过期或已退出，请重新登录后再操作。")
}

// formToken is the anti-forgery token of a session: derived from its secret,
// so nothing more is stored, and useless without the cookie beside it.
func formToken(sessionSecret string) string {
	m := hmac.New(sha256.New, []byte(sessionSecret))
	m.Write([]byte("minping console form token"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func csrfToken(c *gin.Context) string {
	return c.GetString(csrfKey)
}

// CheckToken refuses a state-changing request whose form does not carry the
// session's token.
func (s *Console) CheckToken(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return
	}
	want := csrfToken(c)
	got := c.PostForm(csrfField)
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.consoleError(c, http.StatusForbidden, "表单已失效", "这个表单已过期或不是从管理台页面提交的。请返回上一页，刷新后重试。")
	}
}

type loginView struct {
	consolePage
	Name, Next, Token, Error string
}

func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/console"
}

// LoginPage shows the sign-in form with a fresh anti-forgery token, which is
// also set as a cookie: a forged sign-in from another site has neither.
func (s *Console) LoginPage(c *gin.Context) {
	token, _ := c.Cookie(SessionCookie)
	if _, err := s.store.SessionAccount(c.Request.Context(), token); err == nil {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	s.renderLogin(c, http.StatusOK, "", c.Query("next"), "")
}

func (s *Console) renderLogin(c *gin.Context, status int, name, next, msg string) {
	t := survey.NewToken()
	s.setCookie(c, LoginCookie, t, "/console/login", 3600)
	v := loginView{consolePage: s.newPage(c, "登录", ""), Name: name, Next: safeNext(next), Token: t, Error: msg}
	s.host.HTML(c, status, "console-login", v)
}

// Login checks the name and password. After repeated failures for a name or
// from an address, it refuses for a while, growing with every failure,
// without checking the password at all.
func (s *Console) Login(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	password := c.PostForm("password")
	next := c.PostForm("next")
	want, _ := c.Cookie(LoginCookie)
	got := c.PostForm(csrfField)
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.renderLogin(c, http.StatusForbidden, name, next, "登录表单已过期，请重新输入用户名和密码。")
		return
	}
	if name == "" || password == "" {
		s.renderLogin(c, http.StatusUnprocessableEntity, name, next, "请输入用户名和密码。")
		return
	}
	a, wait, err := s.checkPassword(c, name, password)
	switch {
	case wait > 0:
		s.renderLogin(c, http.StatusTooManyRequests, name, next,
			fmt.Sprintf("登录失败次数过多，请 %s后再试。", waitText(wait)))
		return
	case errors.Is(err, survey.ErrUnauthorized):
		s.log.Info("console sign-in failed", "name", name, "client", clientIP(c))
		s.renderLogin(c, http.StatusUnauthorized, name, next, "用户名或密码不正确。")
		return
	case err != nil:
		s.consoleFail(c, err)
		return
	}
	if err := s.startSession(c, a); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.setCookie(c, LoginCookie, "", "/console/login", -1)
	s.log.Info("console sign-in", "account", a.Name, "role", a.Role, "client", clientIP(c))
	c.Redirect(http.StatusSeeOther, safeNext(next))
}

// checkPassword checks an account's password as a sign-in does: after
// repeated failures for the name from this address, or from the address
// at all, it refuses for a while (wait > 0) without checking, and no more
// than a few argon2 checks run at once. survey.ErrUnauthorized if the
// password is wrong.
//
// Failures count per name and address, never per name alone: someone
// guessing at the admin's name from one address holds back that address,
// not the admin signing in from another (behind a reverse proxy, give it
// in --trusted-proxies so that the address is the client's). The password
// policy (survey.PasswordProblems) is what makes guessing from many
// addresses futile.
func (s *Console) checkPassword(c *gin.Context, name, password string) (a *survey.Account, wait time.Duration, err error) {
	addr := clientIP(c)
	keys := []string{"name:" + strings.ToLower(name) + "|" + addr}
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		// Behind a proxy that is not trusted every request comes from
		// loopback: an address key there would lock everyone out at once.
		keys = append(keys, "ip:"+addr)
	}
	if wait := s.throttle.begin(keys...); wait > 0 {
		return nil, wait, nil
	}
	defer func() { s.throttle.end(errors.Is(err, survey.ErrUnauthorized), keys...) }()
	ctx := c.Request.Context()
	select {
	case s.argon <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	a, err = s.store.Authenticate(ctx, name, password)
	<-s.argon
	if err == nil {
		s.throttle.reset(keys[0])
	}
	return a, 0, err
}

// startSession signs the browser in as the account: a new session, in its
// cookie.
func (s *Console) startSession(c *gin.Context, a *survey.Account) error {
	token, err := s.store.CreateSession(c.Request.Context(), a.ID)
	if err != nil {
		return err
	}
	s.setCookie(c, SessionCookie, token, "/console", int(survey.SessionMax/time.Second))
	return nil
}

func (s *Console) Logout(c *gin.Context) {
	token, _ := c.Cookie(SessionCookie)
	if err := s.store.EndSession(c.Request.Context(), token); err != nil {
		s.consoleFail(c, err)
		return
	}
	s.setCookie(c, SessionCookie, "", "/console", -1)
	c.Redirect(http.StatusSeeOther, "/console/login")
}

// clientIP is the client's address: the peer's, or the one a trusted
// proxy (--trusted-proxies) says it forwards for.
func clientIP(c *gin.Context) string { return c.ClientIP() }

func waitText(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%d 秒", int(d/time.Second))
	}
	m := int((d + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("%d 分钟", m)
}
