// Package assets holds everything minping serves that is not code: HTML
// templates, CSS, the small scripts and the example round definition. All of
// it is embedded in the binary; nothing is fetched at run time, because
// minping runs on offline intranets.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed templates examples static
var files embed.FS

// Templates returns the HTML templates (templates/*.html).
func Templates() fs.FS {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Static returns the static files (static/…), served under hashed URLs.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// Example returns the example round definition (a 区直单位 round).
func Example() []byte {
	b, err := files.ReadFile("examples/quzhi-2026.yaml")
	if err != nil {
		panic(err)
	}
	return b
}
