package survey

import (
	"strings"
	"testing"
)

func TestPasswordProblems(t *testing.T) {
	for _, tc := range []struct {
		name, password, want string
	}{
		{"admin", "1", "至少需要 10 个字符"},
		{"admin", "短密码", "至少需要 10 个字符"},
		{"admin", strings.Repeat("x", 129), "不能超过 128"},
		{"admin", " leading-space-pw", "开头和结尾"},
		{"admin", "my-admin-password", "不能包含用户名"},
		{"考核办", "考核办的新密码-2026", "不能包含用户名"},
		{"admin", "aaaaaaaaaaaa", "一个字符重复"},
		{"admin", "Password123", "常见密码"},
		{"admin", "woaini1314", "常见密码"},
		{"admin", "tall-granite-48", ""},
		{"ab", "abcdefghijk-2", ""}, // a name under 3 characters is not looked for
		{"考核办", "玉兰花开的新密码-2026", ""},
	} {
		ps := PasswordProblems("password", tc.name, tc.password)
		switch {
		case tc.want == "" && len(ps) > 0:
			t.Errorf("%q for %q: got %v, want none", tc.password, tc.name, ps)
		case tc.want != "" && (len(ps) != 1 || !strings.Contains(ps[0].Message, tc.want) || ps[0].Path != "password"):
			t.Errorf("%q for %q: got %v, want one at password saying %q", tc.password, tc.name, ps, tc.want)
		}
	}
	if len(commonPasswords) < 50 {
		t.Errorf("the embedded list holds %d passwords: it did not load", len(commonPasswords))
	}
}
