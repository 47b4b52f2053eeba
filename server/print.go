package server

import (
	"html/template"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"minping/qr"
	"minping/server/console"
	"minping/survey"
)

// slipsPerPage is how many slips an A4 sheet holds (2 × 5, 105 × 59.4 mm).
const slipsPerPage = 10

// printView is a print sheet: the slips of one or more batches just
// issued, on A4 pages, each batch from a new page.
type printView struct {
	Round    string
	Entry    string // where to type a code by hand
	Count    int    // slips in all
	Batches  int
	Unit     string // of the first batch: the title of a sheet of one
	Category string
	Pages    []printPage
	Nav      *console.PrintNav // the part of a larger issue shown, if it is one
}

type printPage struct {
	Unit, Category string
	// Stub names the member who is to hold a recusal slip, on a stub torn
	// off before the slip is handed over; the code never says who.
	Stub  string
	Slips []slipView
}

type slipView struct {
	Code string
	QR   template.HTML
}

// newPrintView lays out issued batches of round r for printing: each
// batch's slips in random order from a new page, each slip with its QR
// code (a link under base) drawn as one SVG path, drawn on every core.
func newPrintView(r *survey.Round, issued []survey.Issued, base string) (printView, error) {
	def := r.Definition
	v := printView{Round: r.Name, Entry: base + "/b", Batches: len(issued)}
	var slips []*slipView
	for _, is := range issued {
		unit, category := batchLabel(def, is.Batch), def.Category(is.Batch.Category).Name
		stub := ""
		if u := def.Unit(is.Batch.Unit); u != nil && is.Batch.Member != "" {
			if m := u.Member(is.Batch.Member); m != nil {
				stub = m.Name
			}
		}
		if v.Unit == "" {
			v.Unit, v.Category = unit, category
		}
		codes := slices.Clone(is.Codes)
		rand.Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
		v.Count += len(codes)
		for len(codes) > 0 {
			n := min(slipsPerPage, len(codes))
			p := printPage{Unit: unit, Category: category, Stub: stub, Slips: make([]slipView, n)}
			for i, code := range codes[:n] {
				p.Slips[i].Code = code
			}
			v.Pages = append(v.Pages, p)
			codes = codes[n:]
		}
	}
	for i := range v.Pages {
		for k := range v.Pages[i].Slips {
			slips = append(slips, &v.Pages[i].Slips[k])
		}
	}
	err := parallel(len(slips), func(i int) error {
		svg, err := qrSVG(base + "/b/" + slips[i].Code)
		slips[i].QR = svg
		return err
	})
	return v, err
}

// batchLabel says what a batch's slips rate: its unit, 「全部单位」 for an
// all sheet, 「单位 · 同类其他单位」 for an others sheet (CONTRACT §5.1).
func batchLabel(def *survey.Definition, b survey.Batch) string {
	c := def.Category(b.Category)
	u := def.Unit(b.Unit)
	switch {
	case c != nil && c.SheetKind() == survey.SheetAll:
		return "全部单位"
	case c != nil && c.SheetKind() == survey.SheetOthers && u != nil:
		return u.Name + " · 评同类其他单位"
	case u != nil:
		return u.Name
	}
	return b.Unit
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
