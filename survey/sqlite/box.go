package sqlite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

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

// boxAEAD derives the cipher of the ballot boxes from the code key.
func boxAEAD(codeKey []byte) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, codeKey)
	m.Write([]byte("minping ballot box v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// boxed reports whether a ballot's records are kept in a box until close.
func boxed(records []survey.Record) bool {
	return len(records) > 1 || len(records) == 1 && records[0].Part != ""
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
// random keys, and deletes the boxes.
func (s *Store) openBoxes(tx *gorm.DB, roundID string) error {
	var boxes []struct {
		Category string
		Box      []byte
	}
	if err := tx.Raw(`SELECT category, box FROM ballot_boxes WHERE round_id = ?`, roundID).Scan(&boxes).Error; err != nil {
		return err
	}
	// The ORM would spread a []byte argument into a list; the connection
	// takes it as a BLOB.
	conn := tx.Statement.ConnPool
	ctx := tx.Statement.Context
	for _, b := range boxes {
		records, err := s.openBox(roundID, b.Category, b.Box)
		if err != nil {
			return err
		}
		for _, r := range records {
			var id [16]byte
			rand.Read(id[:])
			if _, err := conn.ExecContext(ctx, `INSERT INTO ballots (id, round_id, unit, category, part, answers) VALUES (?, ?, ?, ?, ?, ?)`,
				id[:], roundID, r.Unit, b.Category, r.Part, r.Answers()); err != nil {
				return err
			}
		}
	}
	return tx.Exec(`DELETE FROM ballot_boxes WHERE round_id = ?`, roundID).Error
}
