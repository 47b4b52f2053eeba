package sqlite

import (
	"bytes"
	"context"
	"testing"

	"minping/survey"
)

// TestSessionStoresHashOnly: of a session's secret only its hash is in the
// file (the sessions' behaviour is in the store suite).
func TestSessionStoresHashOnly(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	a, _, err := s.CreateAccount(ctx, survey.NewAccount{Name: "考核办", Role: survey.RoleOrganiser, Password: "pw-organiser-1"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored [][]byte
	s.r.Raw(`SELECT token_hash FROM sessions`).Scan(&stored)
	if len(stored) != 1 || bytes.Contains(stored[0], []byte(token)) || !bytes.Equal(stored[0], hashToken(token)) {
		t.Errorf("sessions hold %q, want only the SHA-256 of the secret", stored)
	}
	if SessionMax != survey.SessionMax || SessionIdle != survey.SessionIdle {
		t.Errorf("session limits %v/%v differ from survey's %v/%v, which the store suite checks", SessionIdle, SessionMax, survey.SessionIdle, survey.SessionMax)
	}
}
