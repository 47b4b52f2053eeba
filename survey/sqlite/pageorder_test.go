package sqlite

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
)

// keyPages reads the SQLite file at path as an attacker with a copy would,
// page by page, and returns the page each row of the WITHOUT ROWID table
// whose b-tree starts at root lives on, by its key (the first column).
func keyPages(t *testing.T, path string, root uint32) map[string]uint32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.BigEndian.Uint16(b[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	out := map[string]uint32{}
	var walk func(p uint32)
	walk = func(p uint32) {
		page := b[int(p-1)*pageSize : int(p)*pageSize]
		h := 0
		if p == 1 {
			h = 100
		}
		kind, cells := page[h], int(binary.BigEndian.Uint16(page[h+3:h+5]))
		hdr := 8
		if kind == 0x02 { // interior index page
			hdr = 12
			walk(binary.BigEndian.Uint32(page[h+8 : h+12]))
		} else if kind != 0x0a {
			t.Fatalf("page %d: kind %#x, not an index b-tree page", p, kind)
		}
		for i := range cells {
			off := int(binary.BigEndian.Uint16(page[h+hdr+2*i:]))
			if kind == 0x02 {
				walk(binary.BigEndian.Uint32(page[off:]))
				off += 4
			}
			payloadLen, k := sqliteVarint(page[off:])
			off += k
			rec := page[off : off+int(payloadLen)]
			hdrLen, k := sqliteVarint(rec)
			serial, _ := sqliteVarint(rec[k:hdrLen])
			keyLen := (int(serial) - 12) / 2
			out[string(rec[hdrLen:int(hdrLen)+keyLen])] = p
		}
	}
	walk(root)
	return out
}

// sqliteVarint reads SQLite's big-endian varint.
func sqliteVarint(b []byte) (uint64, int) {
	var v uint64
	for i := range 8 {
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return v<<8 | uint64(b[8]), 9
}

// orderedPairs is the share of ballot pairs that the pages of a copy put in
// arrival order, guessing that a ballot on a later page arrived later
// (half a pair for two on one page): 0.5 is chance.
func orderedPairs(pages map[string]uint32, arrival []string) float64 {
	var right, all float64
	for i := range arrival {
		for j := i + 1; j < len(arrival); j++ {
			pi, pj := pages[arrival[i]], pages[arrival[j]]
			switch {
			case pi < pj:
				right++
			case pi == pj:
				right += 0.5
			}
			all++
		}
	}
	return right / all
}

// TestPageOrder measures how far the page layout of a copy orders ballots
// by arrival. 1,500 ballots arrive one by one (each its own commit), and
// the file is read as it is while voting is open, and after the close has
// rebuilt it in key order. Either way the layout must say nothing of
// arrival: chance, within 0.03. (Random keys place a ballot on a page by its
// key; the rollback journal writes the file as it goes, so there is no
// checkpoint to replay.)
func TestPageOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,500 ballots one by one")
	}
	s, path := openStore(t)
	ctx := context.Background()
	const n = 1500
	r, codes := openRound(t, s, n)
	def := r.Definition
	for i, c := range codes {
		slip, err := s.Slip(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		a := fullAnswers(def, slip.Unit, "staff").Bytes()
		a = append([]byte(nil), a...)
		for k := range 6 { // voter i's own ballot: i in base 4
			a[k] = byte(i >> (2 * k) & 3)
		}
		if err := s.Submit(ctx, slip, mustBallot(def, slip.Unit, "staff", a)); err != nil {
			t.Fatal(err)
		}
	}
	var root uint32
	if err := s.r.Raw(`SELECT rootpage FROM sqlite_master WHERE name = 'ballots'`).Scan(&root).Error; err != nil {
		t.Fatal(err)
	}
	arrivalOf := func(pages map[string]uint32) []string {
		// The attacker's copy gives ids; the test knows each ballot's voter.
		ids := make([]string, n)
		rows, err := s.wdb.Query(`SELECT id, answers FROM ballots`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, a []byte
			rows.Scan(&id, &a)
			i := 0
			for k := range 6 {
				i |= int(a[k]) << (2 * k)
			}
			ids[i] = string(id)
		}
		for _, id := range ids {
			if _, ok := pages[id]; !ok {
				t.Fatalf("a ballot not found in the file's pages: the walk is wrong")
			}
		}
		return ids
	}
	open := keyPages(t, path, root)
	mid := orderedPairs(open, arrivalOf(open))
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.r.Raw(`SELECT rootpage FROM sqlite_master WHERE name = 'ballots'`).Scan(&root).Error; err != nil {
		t.Fatal(err)
	}
	closed := keyPages(t, path, root)
	after := orderedPairs(closed, arrivalOf(closed))
	t.Logf("pairs of %d ballots in arrival order by page: %.3f while voting is open, %.3f after the close (chance 0.5)", n, mid, after)
	// Independent of arrival, the share's standard deviation is under 0.01.
	for when, got := range map[string]float64{"while voting is open": mid, "after the close": after} {
		if got < 0.47 || got > 0.53 {
			t.Errorf("%s the page layout orders %.3f of ballot pairs by arrival, want chance (0.5 ± 0.03)", when, got)
		}
	}
}
