// Package web serves the page at /: a small Connect-Web app to browse
// projects, their integrations and the integrations' installations, or look
// an integration up by name, and see what was picked as a tree, or see an
// error's code, message and details. Its bundle (static/app.js) is built
// from web/ with npm and committed, so the server needs no npm to build or
// run.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Register mounts the page's files on mux, at exact paths so that they never
// shadow an RPC's path.
func Register(mux *http.ServeMux) {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // embedded at build time
	}
	server := http.FileServerFS(files)
	page := withHeaders(server)
	mux.Handle("GET /{$}", page)
	for _, name := range []string{"/app.js", "/style.css", "/favicon.svg"} {
		mux.Handle("GET "+name, page)
	}
	// Browsers ask for /favicon.ico by themselves; the page links
	// favicon.svg instead.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
}

// withHeaders adds security headers: the page loads only its own files and
// talks only to its own origin.
func withHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		header.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		header.Set("X-Content-Type-Options", "nosniff")
		header.Set("Referrer-Policy", "no-referrer")
		header.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
