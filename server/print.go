package server

import (
	"html/template"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/gin-gonic/gin"

	"minping/qr"
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
func (s *base) printSheet(c *gin.Context, status int, r *survey.Round, b *survey.Batch, codes []string, base string) {
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

// qrSVG draws content's QR code as SVG markup for a template.
func qrSVG(content string) (template.HTML, error) {
	svg, err := qr.SVG(content)
	return template.HTML(svg), err
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
