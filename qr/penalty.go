package qr

import "math/bits"

// penalty scores modules by the four rules of ISO/IEC 18004 §7.8.3: runs
// of five or more alike in a row or column, 2×2 blocks alike, finder-like
// 1:1:3:1:1 patterns beside four light modules (outside the symbol counts
// as light), and the dark share's distance from half.
func penalty(g []byte, n int) int {
	score, dark := 0, 0
	col := make([]byte, n)
	for i := 0; i < n; i++ {
		score += linePenalty(g[i*n : (i+1)*n])
		for j := 0; j < n; j++ {
			col[j] = g[j*n+i]
		}
		score += linePenalty(col)
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

// linePenalty scores one row or column for runs (rule 1) and finder-like
// patterns (rule 3). A 15-module window slides over the line padded with
// four light modules each side: 1011101 in its middle with its first or
// last four modules light is one pattern.
func linePenalty(line []byte) int {
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

// penaltyBits is penalty over bit rows (bit x of rows[y] is module x of
// row y, n = len(rows) ≤ bitsMax), every row and column scored at once
// with shifts and masks; cols is scratch of the same length.
func penaltyBits(rows, cols []uint64) int {
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
		score += lineBits(rows[i], n) + lineBits(cols[i], n)
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

// lineBits is linePenalty for a line of n modules held as bits.
func lineBits(r uint64, n int) int {
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
