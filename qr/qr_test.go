package qr

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
	"rsc.io/qr/coding"
)

var update = flag.Bool("update", false, "rewrite the SVGs in testdata/svg.golden for its contents")

// TestSVGMatchesGolden checks SVG against testdata/svg.golden, lines of
// content then SVG, first written by the server's encoder before it moved
// here: slips printed before and after draw the same codes. The cases run
// at once, so that with -race the first build of a version's layouts is
// shared.
func TestSVGMatchesGolden(t *testing.T) {
	path := filepath.Join("testdata", "svg.golden")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines)%2 != 0 {
		t.Fatalf("%s: %d lines, want content and SVG pairs", path, len(lines))
	}
	if *update {
		var out strings.Builder
		for i := 0; i < len(lines); i += 2 {
			svg, err := SVG(lines[i])
			if err != nil {
				t.Fatalf("%q: %v", lines[i], err)
			}
			out.WriteString(lines[i] + "\n" + svg + "\n")
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for i := 0; i < len(lines); i += 2 {
		content, want := lines[i], lines[i+1]
		t.Run(fmt.Sprint(i/2), func(t *testing.T) {
			t.Parallel()
			got, err := SVG(content)
			if err != nil {
				t.Fatalf("%q: %v", content, err)
			}
			if got != want {
				t.Errorf("%q: got\n%s\nwant\n%s", content, got, want)
			}
		})
	}
}

// TestEncodeMatchesReference checks Encode against an independent encoder.
// Encoders may choose different masks (their penalty scoring differs in
// details), so: the reference symbol must be one of our eight masked
// symbols for the same text and level, module for module, and ours must be
// the one our penalty scores lowest.
func TestEncodeMatchesReference(t *testing.T) {
	widest := 0
	for _, text := range []string{
		"https://mp.example.gov.cn/b/abcd-efgh-jklm-npqr",
		"http://10.1.2.3:8080/b/zzzz-2222-9999-hjkl",
		"https://minping.shengzhengfu.example.gov.cn/b/q7rt-mn2p-xx4w-8k3d",
		"http://localhost/b/aaaa-bbbb-cccc-dddd",
		"https://minping.example.gov.cn/a/very/long/path/behind/a/reverse/proxy/that/someone/configured/for/the/appraisal/of/the/whole/province/and/its/counties/b/q7rt-mn2p-xx4w-8k3d",
		// Wider than bit rows hold (57 and 69 modules): scored module by module.
		"https://minping.example.gov.cn/a/very/long/path/behind/a/reverse/proxy/that/someone/configured/for/the/appraisal/of/the/whole/province/and/all/of/its/many/counties/b/q7rt-mn2p-xx4w-8k3d",
		"https://minping.example.gov.cn/" + strings.Repeat("appraisal/", 27) + "b/q7rt-mn2p-xx4w-8k3d",
	} {
		got, n, err := Encode(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		widest = max(widest, n)
		ref, err := qrcode.New(text, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		ref.DisableBorder = true
		want := ref.Bitmap()
		if n != len(want) {
			t.Errorf("%s: %d×%d modules, reference %d×%d", text, n, n, len(want), len(want))
			continue
		}
		v := coding.Version((n - 17) / 4)
		refFound, lowest, gotScore := false, -1, -1
		for m := range 8 {
			p, err := coding.NewPlan(v, level, coding.Mask(m))
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Encode(coding.String(text))
			if err != nil {
				t.Fatal(err)
			}
			isRef, isGot := true, true
			g := make([]byte, n*n)
			for y := range n {
				for x := range n {
					if c.Black(x, y) {
						g[y*n+x] = 1
					}
					isRef = isRef && c.Black(x, y) == want[y][x]
					isGot = isGot && g[y*n+x] == got[y*n+x]
				}
			}
			score := penalty(g, n)
			if lowest < 0 || score < lowest {
				lowest = score
			}
			refFound = refFound || isRef
			if isGot {
				gotScore = score
			}
		}
		if !refFound {
			t.Errorf("%s: the reference symbol is none of ours (version %d, level M)", text, v)
		}
		if gotScore < 0 || gotScore != lowest {
			t.Errorf("%s: chose a mask scoring %d, the lowest scores %d", text, gotScore, lowest)
		}
	}
	if widest <= bitsMax {
		t.Errorf("the widest symbol is %d modules: no case is scored module by module (over %d)", widest, bitsMax)
	}
}

// TestEncodeTooLong checks the limit: 2331 bytes fill a version 40 symbol
// at level M, one more is an error.
func TestEncodeTooLong(t *testing.T) {
	if _, n, err := Encode(strings.Repeat("a", 2331)); err != nil || n != 177 {
		t.Errorf("2331 bytes: got %d modules, %v; want 177, no error", n, err)
	}
	if g, n, err := Encode(strings.Repeat("a", 2332)); err == nil {
		t.Errorf("2332 bytes: got %d modules (%d), want an error", n, len(g))
	}
	if svg, err := SVG(strings.Repeat("a", 2332)); err == nil || svg != "" {
		t.Errorf("SVG of 2332 bytes: got %d bytes, %v; want none and an error", len(svg), err)
	}
}

// TestSVGDrawsTheModules reads the SVG path back into modules: every dark
// module drawn, nothing else.
func TestSVGDrawsTheModules(t *testing.T) {
	text := "https://mp.example.gov.cn/b/ABCD-EFGH-JKLM-NPQR"
	svg, err := SVG(text)
	if err != nil {
		t.Fatal(err)
	}
	want, n, _ := Encode(text)
	_, d, ok := strings.Cut(svg, ` d="`)
	d, _, ok2 := strings.Cut(d, `"`)
	if !ok || !ok2 {
		t.Fatalf("no path in %.200s", svg)
	}
	got := make([]byte, n*n)
	var x, y, w, dx int
	// Commands: "M x y.5hW" starts a row, "mDX 0hW" moves along it.
	for rest := d; rest != ""; {
		switch {
		case strings.HasPrefix(rest, "M"):
			if _, err := fmt.Sscanf(rest, "M%d %d.5h%d", &x, &y, &w); err != nil {
				t.Fatalf("bad command at %q: %v", rest[:min(len(rest), 20)], err)
			}
		case strings.HasPrefix(rest, "m"):
			if _, err := fmt.Sscanf(rest, "m%d 0h%d", &dx, &w); err != nil {
				t.Fatalf("bad command at %q: %v", rest[:min(len(rest), 20)], err)
			}
			x += dx
		default:
			t.Fatalf("bad command at %q", rest[:min(len(rest), 20)])
		}
		for i := x; i < x+w; i++ {
			got[y*n+i] = 1
		}
		x += w
		next := strings.IndexAny(rest[1:], "Mm")
		if next < 0 {
			break
		}
		rest = rest[1+next:]
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the SVG path does not draw the symbol's modules")
	}
}

// TestPenaltyBitsAgree checks the bit-row penalty against the
// module-by-module one on random symbols of every width it takes.
func TestPenaltyBitsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 7; n <= bitsMax; n++ {
		for range 20 {
			g := make([]byte, n*n)
			rows := make([]uint64, n)
			dense := rng.IntN(4) // some symbols mostly light, some mostly dark
			for i := range g {
				if rng.IntN(4) < dense || rng.IntN(2) == 0 && dense == 2 {
					g[i] = 1
					rows[i/n] |= 1 << (i % n)
				}
			}
			if got, want := penaltyBits(rows, make([]uint64, n)), penalty(g, n); got != want {
				t.Fatalf("%d×%d: bit rows score %d, modules score %d", n, n, got, want)
			}
		}
	}
}

// BenchmarkSVG draws one slip's code: a printed batch draws one per code.
func BenchmarkSVG(b *testing.B) {
	for b.Loop() {
		if _, err := SVG("https://mp.example.gov.cn/b/abcd-efgh-jklm-npqr"); err != nil {
			b.Fatal(err)
		}
	}
}
