package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/skip2/go-qrcode"
	"rsc.io/qr/coding"
)

// TestQREncodeMatchesReference checks the print sheet's QR encoder against
// an independent one. Encoders may choose different masks (their penalty
// scoring differs in details), so: the reference symbol must be one of our
// eight masked symbols for the same text and level, module for module, and
// ours must be the one our penalty scores lowest.
func TestQREncodeMatchesReference(t *testing.T) {
	for _, text := range []string{
		"https://mp.example.gov.cn/b/abcd-efgh-jklm-npqr",
		"http://10.1.2.3:8080/b/zzzz-2222-9999-hjkl",
		"https://minping.shengzhengfu.example.gov.cn/b/q7rt-mn2p-xx4w-8k3d",
		"http://localhost/b/aaaa-bbbb-cccc-dddd",
		// Wider than bit rows hold: scored module by module.
		"https://minping.example.gov.cn/a/very/long/path/behind/a/reverse/proxy/that/someone/configured/for/the/appraisal/of/the/whole/province/and/its/counties/b/q7rt-mn2p-xx4w-8k3d",
	} {
		got, n, err := qrEncode(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
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
			p, err := coding.NewPlan(v, qrLevel, coding.Mask(m))
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
			score := qrPenalty(g, n)
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
}

// TestQRSVGDrawsTheModules reads the SVG path back into modules: every dark
// module drawn, nothing else.
func TestQRSVGDrawsTheModules(t *testing.T) {
	text := "https://mp.example.gov.cn/b/ABCD-EFGH-JKLM-NPQR"
	svg, err := qrSVG(text)
	if err != nil {
		t.Fatal(err)
	}
	want, n, _ := qrEncode(text)
	_, d, ok := strings.Cut(string(svg), ` d="`)
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

// TestQRPenaltyBitsAgree checks the bit-row penalty against the
// module-by-module one on random symbols of every width it takes.
func TestQRPenaltyBitsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 7; n <= qrBitsMax; n++ {
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
			if got, want := qrPenaltyBits(rows, make([]uint64, n)), qrPenalty(g, n); got != want {
				t.Fatalf("%d×%d: bit rows score %d, modules score %d", n, n, got, want)
			}
		}
	}
}
