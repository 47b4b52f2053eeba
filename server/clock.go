package server

import (
	"fmt"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without a zone database

	"minping/tally"
)

// beijing is China Standard Time, the default zone of times people read.
var beijing = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600) // the embedded database has it
	}
	return loc
}()

// ZoneName is how a page labels times in loc: 北京时间 for China, else the
// offset from UTC.
func ZoneName(loc *time.Location) string {
	if loc.String() == "Asia/Shanghai" {
		return "北京时间"
	}
	_, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone()
	return fmt.Sprintf("UTC%+03d:%02d", off/3600, abs(off%3600)/60)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// localTime writes t in the configured zone, labelled: 2026-12-07
// 05:57:00（北京时间）.
func (s *base) localTime(t time.Time) string {
	return t.In(s.cfg.TZ).Format("2006-01-02 15:04:05") + "（" + ZoneName(s.cfg.TZ) + "）"
}

// localSealTime is a document's sealed_at (RFC 3339, UTC) as people read it;
// what cannot be read stays as it is.
func (s *base) localSealTime(sealedAt string) string {
	t, err := time.Parse(time.RFC3339, sealedAt)
	if err != nil {
		return sealedAt
	}
	return s.localTime(t)
}

// forPeople returns the decoded round result with its seal time as people
// read it, for the workbook and the CSV: the signed document keeps UTC.
func (s *base) forPeople(res *tally.RoundResult) *tally.RoundResult {
	res.SealedAt = s.localSealTime(res.SealedAt)
	for i := range res.Units {
		res.Units[i].SealedAt = res.SealedAt
	}
	return res
}
