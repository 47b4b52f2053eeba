package roster

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// withPart returns the workbook xlsx with the zip part name replaced by
// body (written as it comes, so that a part of hundreds of megabytes never
// sits in memory whole).
func withPart(t *testing.T, xlsx []byte, name string, body func(w io.Writer)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	seen := false
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			seen = true
			body(w)
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, r)
		r.Close()
	}
	if !seen {
		w, _ := zw.Create(name)
		body(w)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestRosterBombs: uploads under the 8 MB limit that unpack to far more —
// a sheet of whitespace, a huge shared-string table, a row of countless
// columns — are refused with a clear problem, each within a few seconds and
// allocating under 200 MB in all.
func TestRosterBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and reads files that unpack to hundreds of megabytes")
	}
	base := workbook(t, Sheet, [][]any{{"单位编号", "单位名称", "单位类型", "成员编号", "姓名", "职务"}, {"czj", "区财政局", "区直", "czj-1", "王伟", "局长"}})
	spaces := func(n int) func(w io.Writer) {
		return func(w io.Writer) {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
			chunk := strings.Repeat(" ", 1<<20)
			for range n {
				io.WriteString(w, chunk)
			}
			io.WriteString(w, `</sheetData></worksheet>`)
		}
	}
	strs := func(n int) func(w io.Writer) {
		return func(w io.Writer) {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
			si := "<si><t>" + strings.Repeat("王", 300) + "</t></si>"
			for range n {
				io.WriteString(w, si)
			}
			io.WriteString(w, `</sst>`)
		}
	}
	wide := func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">`)
		for i := range 16000 {
			io.WriteString(w, `<c t="inlineStr"><is><t>x`+strings.Repeat("y", i%7)+`</t></is></c>`)
		}
		io.WriteString(w, `</row></sheetData></worksheet>`)
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"1 GB of whitespace in the sheet", withPart(t, base, "xl/worksheets/sheet1.xml", spaces(1024)), "解压后超过"},
		{"31 MB of shared strings", withPart(t, base, "xl/sharedStrings.xml", strs(34000)), ""},
		{"33 MB of shared strings", withPart(t, base, "xl/sharedStrings.xml", strs(37000)), "解压后超过"},
		{"16,000 columns", withPart(t, base, "xl/worksheets/sheet1.xml", wide), "列"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.file) > 8<<20 {
				t.Fatalf("the bomb is %d bytes, over the 8 MB upload limit", len(tc.file))
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, ps := Parse(tc.file, nil)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d KB upload: %d problems in %s, %d MB allocated", len(tc.file)>>10, len(ps), took.Round(time.Millisecond), alloc>>20)
			if len(ps) == 0 {
				t.Fatalf("accepted")
			}
			if tc.want != "" && !strings.Contains(ps[0].Message, tc.want) {
				t.Errorf("problem %q, want one saying %q", ps[0].Message, tc.want)
			}
			if alloc > 200<<20 {
				t.Errorf("allocated %d MB reading it, want under 200 MB", alloc>>20)
			}
			if took > 10*time.Second {
				t.Errorf("took %s, want a few seconds", took)
			}
		})
	}
}

// TestLargestRosterReads: the bounds leave room for the largest roster
// minping takes, MaxRows members.
func TestLargestRosterReads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a workbook of 20,000 rows")
	}
	rows := [][]any{{"单位编号", "单位名称", "单位类型", "成员编号", "姓名", "职务"}}
	for i := range MaxRows - 1 {
		u := i / 10
		rows = append(rows, []any{fmt.Sprintf("u%d", u), fmt.Sprintf("单位%d", u), "区直", fmt.Sprintf("u%d-%d", u, i%10), "王伟" + strconv.Itoa(i), "副局长"})
	}
	r, ps := Parse(workbook(t, Sheet, rows), nil)
	if len(ps) > 0 {
		t.Fatalf("%d rows: problems %v", len(rows), ps[:min(3, len(ps))])
	}
	n := 0
	for _, u := range r.Units {
		n += len(u.Members)
	}
	if n != MaxRows-1 {
		t.Errorf("read %d members, want %d", n, MaxRows-1)
	}
}
