package service

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// ConditionalGET wraps the service's HTTP handler so that successful
// Connect GET responses carry an ETag (a hash of the response body as sent)
// and Cache-Control: private, no-cache; a GET whose If-None-Match holds
// that ETag gets 304 Not Modified and no body. The call itself is still made:
// a 304 saves the response's bytes, not the upstream call. Other methods
// and error responses pass through untouched.
func ConditionalGET(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		buffered := &bufferedWriter{ResponseWriter: w}
		next.ServeHTTP(buffered, r)
		if buffered.status != http.StatusOK {
			buffered.flush()
			return
		}
		sum := sha256.Sum256(buffered.body.Bytes())
		etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		header := w.Header()
		header.Set("ETag", etag)
		header.Set("Cache-Control", "private, no-cache")
		header.Add("Vary", "Authorization")
		header.Add("Vary", "X-Api-Key")
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			for _, h := range []string{"Content-Length", "Content-Type", "Content-Encoding"} {
				header.Del(h)
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		buffered.flush()
	})
}

// etagMatches reports whether an If-None-Match value lists etag (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func etagMatches(ifNoneMatch, etag string) bool {
	for _, candidate := range strings.Split(ifNoneMatch, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == etag || candidate == "*" {
			return true
		}
	}
	return false
}

// bufferedWriter holds a response back until it is flushed.
type bufferedWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (b *bufferedWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b *bufferedWriter) flush() {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.ResponseWriter.WriteHeader(b.status)
	_, _ = b.ResponseWriter.Write(b.body.Bytes())
}
