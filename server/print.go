package main

import (
	"bytes"
	"fmt"
	"html/template"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
	"rsc.io/qr/coding"

	"minping/survey"
)

// slipsPerPage is how many slips an A4 sheet holds (2 × 5, 105 × 59.4 mm).
const slipsPerPage = 10

type printView struct {
	Round, Unit, Category string
	Entry                 string // where to type a code by hand
	Count                 int
	Pages                 [][]slipView
}

type slipView struct {
	Code string
	QR   template.HTML
}

// printSheet renders a batch's slips as A4 pages, in random order, each with
// its QR code drawn as one SVG path.
func (s *server) printSheet(c *gin.Context, status int, r *survey.Round, b *survey.Batch, codes []string, base string) {
	def := r.Definition
	v := printView{
		Round: r.Name, Unit: def.Unit(b.Unit).Name, Category: def.Category(b.Category).Name,
		Entry: base + "/b", Count: len(codes),
	}
	order := make([]string, len(codes))
	copy(order, codes)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	slips := make([]slipView, len(order))
	err := parallel(len(order), func(i int) error {
		svg, err := qrSVG(base + "/b/" + order[i])
		slips[i] = slipView{Code: order[i], QR: svg}
		return err
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	for len(slips) > 0 {
		n := min(slipsPerPage, len(slips))
		v.Pages = append(v.Pages, slips[:n])
		slips = slips[n:]
	}
	s.html(c, status, "print", v)
}

// qrSVG draws a QR code (level M, byte mode) as an SVG with a single path:
// one stroked line per run of dark modules, "M x y.5h w" for a row's first
// run and "m gap 0h w" for the next, which is a fraction of a PNG per slip.
func qrSVG(content string) (template.HTML, error) {
	g, n, err := qrEncode(content)
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
	return template.HTML(b.String()), nil // built here from numbers only
}

// qrLevel is the error correction of printed codes: M restores up to 15 %
// of the symbol, enough for a crease or a smudge.
const qrLevel = coding.M

// qrPlans holds, per QR version, the module layout of each of the 8 masks,
// and, for symbols up to qrBitsMax modules wide, how each mask's symbol
// differs from mask 0's as bit rows. Building a layout costs more than
// encoding with it, and layouts never change, so each version's are built
// once, when a code first needs them.
var qrPlans [coding.MaxVersion + 1]struct {
	once  sync.Once
	masks [8]*coding.Plan
	delta [8][]uint64 // row y, bit x: the module differs from mask 0's
	err   error
}

// qrBitsMax is the widest symbol (version 9) scored as bit rows: a row with
// four light modules either side fits in 64 bits.
const qrBitsMax = 56

// qrEncode returns the QR code of content as n×n modules, row by row, 1 for
// dark: the smallest version that holds it, and of the 8 masks the one the
// standard's penalty rules score lowest.
func qrEncode(content string) (modules []byte, n int, err error) {
	text := coding.String(content)
	v := coding.Version(coding.MinVersion)
	for text.Bits(v) > v.DataBytes(qrLevel)*8 {
		if v++; v > coding.MaxVersion {
			return nil, 0, fmt.Errorf("qr code: %d bytes is too long", len(content))
		}
	}
	p := &qrPlans[v]
	p.once.Do(func() {
		for m := range p.masks {
			if p.masks[m], p.err = coding.NewPlan(v, qrLevel, coding.Mask(m)); p.err != nil {
				return
			}
		}
		if n := len(p.masks[0].Pixel); n <= qrBitsMax {
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
		return qrEncodeEachMask(p.masks, text)
	}
	// A mask only flips modules: encode once, then score each mask's
	// symbol as mask 0's with that mask's differences flipped.
	c, err := p.masks[0].Encode(text)
	if err != nil {
		return nil, 0, fmt.Errorf("qr code: %w", err)
	}
	n = c.Size
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
		if score := qrPenaltyBits(rows, cols); m == 0 || score < bestScore {
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

// qrEncodeEachMask encodes text with each mask and keeps the symbol that
// scores lowest: the way for symbols too wide for bit rows.
func qrEncodeEachMask(masks [8]*coding.Plan, text coding.String) (best []byte, n int, err error) {
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
		if score := qrPenalty(g, n); best == nil || score < bestScore {
			best, bestScore, g = g, score, best
		}
	}
	return best, n, nil
}

// qrPenaltyBits is qrPenalty over bit rows (bit x of rows[y] is module x of
// row y, n = len(rows) ≤ qrBitsMax), every row and column scored at once
// with shifts and masks; cols is scratch of the same length.
func qrPenaltyBits(rows, cols []uint64) int {
	n := len(rows)
	clear(cols)
	dark := 0
	for y, r := range rows {
		dark += bits.OnesCount64(r)
		for x := 0; x < n; x++ {
			cols[x] |= (r >> x & 1) << y
		}
	}
	score := 0
	for i := range rows {
		score += qrLineBits(rows[i], n) + qrLineBits(cols[i], n)
	}
	inner := uint64(1)<<(n-1) - 1 // a 2×2 block starts at x < n-1
	for y := 0; y+1 < n; y++ {
		a, b := rows[y], rows[y+1]
		score += 3 * bits.OnesCount64(^(a^(a>>1)) & ^(b^(b>>1)) & ^(a^b) & inner)
	}
	total := n * n
	diff := dark*100 - total*50
	if diff < 0 {
		diff = -diff
	}
	return score + 10*(diff/(5*total))
}

// qrLineBits is qrLinePenalty for a line of n modules held as bits.
func qrLineBits(r uint64, n int) int {
	// Rule 1: a run of L ≥ 5 alike scores L-2: one for each window of five
	// alike in it (L-4) and two more at the window that starts it.
	alike := ^(r ^ (r >> 1)) & (uint64(1)<<(n-1) - 1) // modules x and x+1 alike
	five := alike & (alike >> 1) & (alike >> 2) & (alike >> 3)
	starts := five &^ (alike << 1)
	score := bits.OnesCount64(five) + 2*bits.OnesCount64(starts)
	// Rule 3: 1011101 at bit k of the line padded with four light modules
	// each side, with the four modules before it or the four after light.
	p := r << 4
	q := ^p
	m := p & (q >> 1) & (p >> 2) & (p >> 3) & (p >> 4) & (q >> 5) & (p >> 6)
	before := (q << 1) & (q << 2) & (q << 3) & (q << 4)
	after := (q >> 7) & (q >> 8) & (q >> 9) & (q >> 10)
	return score + 40*bits.OnesCount64(m&(before|after))
}

// qrPenalty scores modules by the four rules of ISO/IEC 18004 §7.8.3: runs
// of five or more alike in a row or column, 2×2 blocks alike, finder-like
// 1:1:3:1:1 patterns beside four light modules (outside the symbol counts
// as light), and the dark share's distance from half.
func qrPenalty(g []byte, n int) int {
	score, dark := 0, 0
	col := make([]byte, n)
	for i := 0; i < n; i++ {
		score += qrLinePenalty(g[i*n : (i+1)*n])
		for j := 0; j < n; j++ {
			col[j] = g[j*n+i]
		}
		score += qrLinePenalty(col)
	}
	for y := 0; y < n; y++ {
		row := g[y*n : (y+1)*n]
		for x, c := range row {
			dark += int(c)
			if y+1 < n && x+1 < n && c == row[x+1] && c == g[(y+1)*n+x] && c == g[(y+1)*n+x+1] {
				score += 3
			}
		}
	}
	total := n * n
	diff := dark*100 - total*50
	if diff < 0 {
		diff = -diff
	}
	return score + 10*(diff/(5*total))
}

// qrLinePenalty scores one row or column for runs (rule 1) and finder-like
// patterns (rule 3). A 15-module window slides over the line padded with
// four light modules each side: 1011101 in its middle with its first or
// last four modules light is one pattern.
func qrLinePenalty(line []byte) int {
	score, run := 0, 1
	for j := 1; j <= len(line); j++ {
		if j < len(line) && line[j] == line[j-1] {
			run++
			continue
		}
		if run >= 5 {
			score += 3 + run - 5
		}
		run = 1
	}
	var w uint32
	for k := 0; k < len(line)+8; k++ {
		var c byte
		if k >= 4 && k-4 < len(line) {
			c = line[k-4]
		}
		w = (w<<1 | uint32(c)) & 0x7fff
		if k >= 14 && w>>4&0x7f == 0b1011101 && (w>>11 == 0 || w&0xf == 0) {
			score += 40
		}
	}
	return score
}

// parallel runs fn for 0..n-1 on every core and returns the first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
