package sqlite

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"minping/survey"
)

// A ballot stored as several records — a sheet's over many units, a
// recusal ballot's parts — is kept sealed in a box until the round closes.
// Its records stored at once would give it away to anyone who copies the
// data directory twice while voting is open: the records that appear
// between the copies are one ballot's, the slip spent between them says
// whose batch it was, and a batch can be one person's (an others sheet's
// 正职, a recusal slip's member), whose missing part would even name them.
// The box is AES-256-GCM under a key derived from the code key, which
// lives in the key directory, not the data directory. At close, in the
// transaction that ends voting, every box is opened and its records stored
// under random keys, all at once; the boxes go, and the compaction the
// close owes wipes their pages.

// boxed reports whether a ballot of category c is kept in a box until
// close: every ballot of a sheet over other units than one's own and of a
// recusal category, whatever its size — a sheet of one other unit is
// still one person's ballot — and any ballot of several records.
func boxed(c *survey.Category, records []survey.Record) bool {
	return c.SheetKind() != survey.SheetUnit || c.Recuse || len(records) > 1 || len(records) == 1 && records[0].Part != ""
}

// sealBox encrypts a ballot's records for round and category.
func (s *Store) sealBox(roundID, category string, records []survey.Record) ([]byte, error) {
	var plain []byte
	for _, r := range records {
		for _, f := range [][]byte{[]byte(r.Unit), []byte(r.Part), r.Answers()} {
			plain = binary.AppendUvarint(plain, uint64(len(f)))
			plain = append(plain, f...)
		}
	}
	nonce := make([]byte, s.box.NonceSize(), s.box.NonceSize()+len(plain)+s.box.Overhead())
	rand.Read(nonce)
	return s.box.Seal(nonce, nonce, plain, boxContext(roundID, category)), nil
}

func boxContext(roundID, category string) []byte {
	return []byte(roundID + "\x00" + category)
}

// openBox decrypts a box of round and category into its records.
func (s *Store) openBox(roundID, category string, box []byte) ([]survey.Record, error) {
	n := s.box.NonceSize()
	if len(box) < n {
		return nil, errors.New("ballot box too short")
	}
	plain, err := s.box.Open(nil, box[:n], box[n:], boxContext(roundID, category))
	if err != nil {
		return nil, fmt.Errorf("open ballot box (is this the data directory's key directory?): %w", err)
	}
	var out []survey.Record
	for len(plain) > 0 {
		var f [3][]byte
		for i := range f {
			l, k := binary.Uvarint(plain)
			if k <= 0 || uint64(len(plain)-k) < l {
				return nil, errors.New("ballot box: malformed")
			}
			f[i], plain = plain[k:k+int(l)], plain[k+int(l):]
		}
		out = append(out, survey.NewRecord(string(f[0]), string(f[1]), f[2]))
	}
	return out, nil
}

// openBoxes stores, inside tx, the records of every box of a round under
// random keys, and deletes the boxes. Records go in by chunks, each in the
// order of its random keys — an order that says nothing, and that keeps
// SQLite's B-tree inserts close together (a million records in random
// order took over a minute).
func (s *Store) openBoxes(tx *gorm.DB, roundID string) error {
	// The ORM would spread a []byte argument into a list; the connection
	// takes it as a BLOB.
	conn := tx.Statement.ConnPool
	ctx := tx.Statement.Context
	rows, err := conn.QueryContext(ctx, `SELECT category, box FROM ballot_boxes WHERE round_id = ?`, roundID)
	if err != nil {
		return err
	}
	type keyed struct {
		id       [16]byte
		category string
		rec      survey.Record
	}
	var chunk []keyed
	var boxes [][2][]byte
	for rows.Next() {
		var category, box []byte
		if err := rows.Scan(&category, &box); err != nil {
			rows.Close()
			return err
		}
		boxes = append(boxes, [2][]byte{category, box})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	insert, err := conn.PrepareContext(ctx, `INSERT INTO ballots (id, round_id, unit, category, part, answers) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	flush := func() error {
		slices.SortFunc(chunk, func(a, b keyed) int { return bytes.Compare(a.id[:], b.id[:]) })
		for _, k := range chunk {
			if _, err := insert.ExecContext(ctx, k.id[:], roundID, k.rec.Unit, k.category, k.rec.Part, k.rec.Answers()); err != nil {
				return err
			}
		}
		chunk = chunk[:0]
		return nil
	}
	for _, b := range boxes {
		category := string(b[0])
		records, err := s.openBox(roundID, category, b[1])
		if err != nil {
			return err
		}
		for _, r := range records {
			k := keyed{category: category, rec: r}
			rand.Read(k.id[:])
			chunk = append(chunk, k)
		}
		if len(chunk) >= boxChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `DELETE FROM ballot_boxes WHERE round_id = ?`, roundID)
	return err
}

// boxChunk is the records opened before they are stored in key order.
const boxChunk = 1 << 17
