package main

import (
	"bytes"
	"fmt"
	"html/template"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/skip2/go-qrcode"

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

// qrSVG draws a QR code as an SVG with a single path: one "h" run per row of
// dark modules, which is far smaller and faster than a PNG per slip.
func qrSVG(content string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	n := len(bm)
	var b bytes.Buffer
	b.Grow(n * n / 2)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 %d %d" shape-rendering="crispEdges"><path d="`, n+4, n+4)
	for y, row := range bm {
		for x := 0; x < n; {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < n && row[x] {
				x++
			}
			b.WriteByte('M')
			b.WriteString(strconv.Itoa(start))
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(y))
			b.WriteByte('h')
			b.WriteString(strconv.Itoa(x - start))
			b.WriteString("v1h-")
			b.WriteString(strconv.Itoa(x - start))
			b.WriteByte('z')
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // built here from numbers only
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
