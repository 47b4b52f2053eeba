package survey

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MinPasswordRunes is the shortest password an account may have.
const MinPasswordRunes = 10

//go:embed common_passwords.txt
var commonList string

// commonPasswords are passwords too common to take, in lower case.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonList, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}()

// PasswordProblems lists what is wrong with password as the password of
// the account name, in Chinese, at path: shorter than MinPasswordRunes or
// longer than 128, spaces at either end, the name in it, one character
// repeated, or a common password. None if it will do.
func PasswordProblems(path, name, password string) []Problem {
	var ps []Problem
	add := func(format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	lower := strings.ToLower(password)
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordRunes:
		add("至少需要 %d 个字符，现在是 %d 个", MinPasswordRunes, n)
	case n > 128:
		add("不能超过 128 个字符")
	case strings.TrimSpace(password) != password:
		add("开头和结尾不能是空格")
	case utf8.RuneCountInString(name) >= 3 && strings.Contains(lower, strings.ToLower(name)):
		add("不能包含用户名")
	case strings.Count(password, password[:1]) == len(password):
		add("不能只由一个字符重复组成")
	case commonPasswords[lower]:
		add("这是常见密码，很容易被猜到，请换一个")
	}
	return ps
}
