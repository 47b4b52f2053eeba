// Package qr makes the QR codes printed on ballot slips and shown on the
// big screen: it encodes a string as a QR symbol and draws the symbol as a
// small SVG.
//
// Symbols are byte mode at error correction level M, which restores up to
// 15 % of the symbol, enough for a crease or a smudge; the version is the
// smallest that holds the content, and the mask the one the penalty rules
// of ISO/IEC 18004 score lowest. Encoding is pure and safe for concurrent
// use; each version's module layouts are built once, when first needed.
package qr

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"

	"rsc.io/qr/coding"
)

// level is the error correction of every symbol.
const level = coding.M

// plans holds, per QR version, the module layout of each of the 8 masks,
// and, for symbols up to bitsMax modules wide, how each mask's symbol
// differs from mask 0's as bit rows. Building a layout costs more than
// encoding with it, and layouts never change, so each version's are built
// once, when a code first needs them.
var plans [coding.MaxVersion + 1]struct {
	once  sync.Once
	masks [8]*coding.Plan
	delta [8][]uint64 // row y, bit x: the module differs from mask 0's
	err   error
}

// bitsMax is the widest symbol (version 9) scored as bit rows: a row with
// four light modules either side fits in 64 bits.
const bitsMax = 56

// SVG draws the QR code of content as an SVG document with a single path
// and a two-module light margin, sized by its container: one stroked line
// per run of dark modules, "M x y.5h w" for a row's first run and
// "m gap 0h w" for the next, which is a fraction of a PNG per slip. The
// result holds only numbers and fixed markup, so it is safe to insert into
// HTML as is. It returns Encode's errors.
func SVG(content string) (string, error) {
	g, n, err := Encode(content)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	b.Grow(n * n / 2)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 %d %d" shape-rendering="crispEdges"><path stroke="#000" d="`, n+4, n+4)
	for y := 0; y < n; y++ {
		row := g[y*n : (y+1)*n]
		end := -1 // where the row's last run ended; -1 before its first
		for x := 0; x < n; {
			if row[x] == 0 {
				x++
				continue
			}
			start := x
			for x < n && row[x] != 0 {
				x++
			}
			if end < 0 {
				b.WriteByte('M')
				b.WriteString(strconv.Itoa(start))
				b.WriteByte(' ')
				b.WriteString(strconv.Itoa(y))
				b.WriteString(".5h")
			} else {
				b.WriteByte('m')
				b.WriteString(strconv.Itoa(start - end))
				b.WriteString(" 0h")
			}
			b.WriteString(strconv.Itoa(x - start))
			end = x
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// Encode returns the QR code of content as size×size modules, row by row,
// 1 for dark, without a margin: the smallest version that holds it, and of
// the 8 masks the one the standard's penalty rules score lowest. The slice
// is the caller's. It returns an error if content is longer than a version
// 40 symbol holds at level M (2331 bytes).
func Encode(content string) (modules []byte, size int, err error) {
	text := coding.String(content)
	v := coding.Version(coding.MinVersion)
	for text.Bits(v) > v.DataBytes(level)*8 {
		if v++; v > coding.MaxVersion {
			return nil, 0, fmt.Errorf("qr code: %d bytes is too long", len(content))
		}
	}
	p := &plans[v]
	p.once.Do(func() {
		for m := range p.masks {
			if p.masks[m], p.err = coding.NewPlan(v, level, coding.Mask(m)); p.err != nil {
				return
			}
		}
		if n := len(p.masks[0].Pixel); n <= bitsMax {
			for m := range p.delta {
				p.delta[m] = make([]uint64, n)
				for y, row := range p.masks[m].Pixel {
					for x, pix := range row {
						if (pix^p.masks[0].Pixel[y][x])&coding.Black != 0 {
							p.delta[m][y] |= 1 << x
						}
					}
				}
			}
		}
	})
	if p.err != nil {
		return nil, 0, fmt.Errorf("qr code: %w", p.err)
	}
	if p.delta[0] == nil {
		return encodeEachMask(p.masks, text)
	}
	// A mask only flips modules: encode once, then score each mask's
	// symbol as mask 0's with that mask's differences flipped.
	c, err := p.masks[0].Encode(text)
	if err != nil {
		return nil, 0, fmt.Errorf("qr code: %w", err)
	}
	n := c.Size
	rows0 := make([]uint64, n)
	for y := range rows0 {
		line := c.Bitmap[y*c.Stride:]
		for x := 0; x < n; x++ {
			rows0[y] |= uint64(line[x/8]>>(7-x&7)&1) << x
		}
	}
	rows, cols := make([]uint64, n), make([]uint64, n)
	best, bestScore := 0, 0
	for m, delta := range p.delta {
		for y := range rows {
			rows[y] = rows0[y] ^ delta[y]
		}
		if score := penaltyBits(rows, cols); m == 0 || score < bestScore {
			best, bestScore = m, score
		}
	}
	modules = make([]byte, n*n)
	for y := 0; y < n; y++ {
		r := rows0[y] ^ p.delta[best][y]
		for x := 0; x < n; x++ {
			modules[y*n+x] = byte(r >> x & 1)
		}
	}
	return modules, n, nil
}

// encodeEachMask encodes text with each mask and keeps the symbol that
// scores lowest: the way for symbols too wide for bit rows.
func encodeEachMask(masks [8]*coding.Plan, text coding.String) (best []byte, n int, err error) {
	var g []byte
	bestScore := 0
	for _, plan := range masks {
		c, err := plan.Encode(text)
		if err != nil {
			return nil, 0, fmt.Errorf("qr code: %w", err)
		}
		n = c.Size
		if g == nil {
			g = make([]byte, n*n)
		}
		for y := 0; y < n; y++ {
			row := c.Bitmap[y*c.Stride:]
			for x := 0; x < n; x++ {
				g[y*n+x] = row[x/8] >> (7 - x&7) & 1
			}
		}
		if score := penalty(g, n); best == nil || score < bestScore {
			best, bestScore, g = g, score, best
		}
	}
	return best, n, nil
}
