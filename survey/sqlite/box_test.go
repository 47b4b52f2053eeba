package sqlite

import (
	"bytes"
	"context"
	"os"
	"testing"

	"minping/survey"
)

// TestBoxesUntilClose votes a recusal ballot and an all sheet's ballot
// while the round is open, reads the database as a copy of the data
// directory would show it, and finds neither ballot's records there: only
// sealed boxes, which hold none of the answers in the clear. Closing opens
// them into records under random keys and deletes the boxes.
func TestBoxesUntilClose(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	src, err := os.ReadFile("../../assets/examples/county-20-of-100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def, err := survey.ParseDefinition(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRound(ctx, def, src)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueBatches(ctx, r.ID, []survey.BatchRequest{
		{Category: "leaders", Count: 1},
		{Unit: "smx", Category: "members", Member: "smx-1", Count: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	var records int
	for _, is := range issued {
		slip, err := s.Slip(ctx, is.Codes[0])
		if err != nil {
			t.Fatal(err)
		}
		sh := slip.Sheet()
		values := make([]int, sh.Len())
		for i := range values {
			values[i] = 2 // 一般, 基本称职: a byte pattern to look for
		}
		b, err := sh.EncodeSlots(values)
		if err != nil {
			t.Fatal(err)
		}
		records += len(b.Records())
		if err := s.Submit(ctx, slip, b); err != nil {
			t.Fatal(err)
		}
	}
	var inTable, boxes int
	s.r.Raw(`SELECT count(*) FROM ballots WHERE round_id = ?`, r.ID).Scan(&inTable)
	s.r.Raw(`SELECT count(*) FROM ballot_boxes WHERE round_id = ?`, r.ID).Scan(&boxes)
	if inTable != 0 || boxes != 2 {
		t.Fatalf("while open: %d records in the ballots table and %d boxes, want 0 and 2", inTable, boxes)
	}
	var sealed [][]byte
	s.r.Raw(`SELECT box FROM ballot_boxes WHERE round_id = ?`, r.ID).Scan(&sealed)
	for _, b := range sealed {
		if bytes.Contains(b, bytes.Repeat([]byte{2}, 6)) || bytes.Contains(b, []byte("smx")) {
			t.Errorf("a box shows its answers or units in the clear")
		}
	}
	if err := s.CloseRound(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	s.r.Raw(`SELECT count(*) FROM ballots WHERE round_id = ?`, r.ID).Scan(&inTable)
	s.r.Raw(`SELECT count(*) FROM ballot_boxes WHERE round_id = ?`, r.ID).Scan(&boxes)
	if inTable != records || boxes != 0 {
		t.Errorf("after close: %d records and %d boxes, want %d and 0", inTable, boxes, records)
	}
}
