package tally

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Score is an exact score or component. It is written with 2 decimals,
// rounded half up; the zero Score is null (nothing to score).
type Score struct{ r *big.Rat }

// Share is an exact proportion (a share of votes, a turnout). It is written
// with 4 decimals, rounded half up; the zero Share is null.
type Share struct{ r *big.Rat }

const (
	scorePlaces = 2
	sharePlaces = 4
)

// Valid reports whether there is a score, as opposed to null.
func (s Score) Valid() bool { return s.r != nil }

// Rat returns a copy of the exact value, or nil for null. A Score decoded
// from a document holds the printed value.
func (s Score) Rat() *big.Rat { return ratCopy(s.r) }

// String writes the score as printed in a document ("87.30"), or "" for null.
func (s Score) String() string { return fixed(s.r, scorePlaces) }

// Float64 returns the printed value as a float, for spreadsheets.
func (s Score) Float64() (float64, bool) { return fixedFloat(s.r, scorePlaces) }

// MarshalJSON writes the score with exactly 2 decimals, or null.
func (s Score) MarshalJSON() ([]byte, error) { return fixedJSON(s.r, scorePlaces), nil }

// UnmarshalJSON reads a number or null.
func (s *Score) UnmarshalJSON(b []byte) error { return parseFixedJSON(b, &s.r) }

// Valid reports whether there is a share, as opposed to null.
func (s Share) Valid() bool { return s.r != nil }

// Rat returns a copy of the exact value, or nil for null.
func (s Share) Rat() *big.Rat { return ratCopy(s.r) }

// String writes the share as printed in a document ("0.3333"), or "" for null.
func (s Share) String() string { return fixed(s.r, sharePlaces) }

// Float64 returns the printed value as a float, for spreadsheets.
func (s Share) Float64() (float64, bool) { return fixedFloat(s.r, sharePlaces) }

// MarshalJSON writes the share with exactly 4 decimals, or null.
func (s Share) MarshalJSON() ([]byte, error) { return fixedJSON(s.r, sharePlaces), nil }

// UnmarshalJSON reads a number or null.
func (s *Share) UnmarshalJSON(b []byte) error { return parseFixedJSON(b, &s.r) }

func ratCopy(r *big.Rat) *big.Rat {
	if r == nil {
		return nil
	}
	return new(big.Rat).Set(r)
}

// roundHalfUp returns r × 10^places rounded half up (四舍五入: halves go away
// from zero), as an integer.
func roundHalfUp(r *big.Rat, places int) *big.Int {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	num := new(big.Int).Mul(new(big.Int).Abs(r.Num()), scale)
	num.Mul(num, big.NewInt(2))
	num.Add(num, r.Denom())
	den := new(big.Int).Mul(r.Denom(), big.NewInt(2))
	q := num.Quo(num, den) // floor(|r|·10^p + 1/2), all positive
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

// fixed writes r rounded half up with exactly places decimals.
func fixed(r *big.Rat, places int) string {
	if r == nil {
		return ""
	}
	q := roundHalfUp(r, places)
	neg := q.Sign() < 0
	digits := new(big.Int).Abs(q).String()
	if len(digits) <= places {
		digits = strings.Repeat("0", places-len(digits)+1) + digits
	}
	s := digits[:len(digits)-places] + "." + digits[len(digits)-places:]
	if neg {
		s = "-" + s
	}
	return s
}

func fixedJSON(r *big.Rat, places int) []byte {
	if r == nil {
		return []byte("null")
	}
	return []byte(fixed(r, places))
}

func fixedFloat(r *big.Rat, places int) (float64, bool) {
	if r == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(fixed(r, places), 64)
	return f, err == nil
}

func parseFixedJSON(b []byte, dst **big.Rat) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*dst = nil
		return nil
	}
	r, ok := new(big.Rat).SetString(string(b))
	if !ok {
		return fmt.Errorf("%s is not a number", b)
	}
	*dst = r
	return nil
}

// printedCmp compares a and b as printed with places decimals.
func printedCmp(a, b *big.Rat, places int) int {
	return roundHalfUp(a, places).Cmp(roundHalfUp(b, places))
}
