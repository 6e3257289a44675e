package demo_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ampersand-connect/gateway/internal/demo"
)

// FuzzHandler sends the demo requests of any method, path, query and
// body: it never panics, never answers 500, and every problem it answers
// is a JSON document with its status. The seeds are a valid request of
// every operation.
func FuzzHandler(f *testing.F) {
	_, ops := specOps(f)
	for _, op := range ops {
		c := newCall(f, op)
		path, query, _ := strings.Cut(strings.TrimPrefix(c.url(), "http://demo.invalid"), "?")
		f.Add(op.method, path, query, string(c.body))
	}
	h := demo.NewHandler()
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		switch method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			method = http.MethodPost
		}
		req, err := http.NewRequest(method, "http://demo.invalid"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s?%s %q: %d %s", method, path, query, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); rec.Code >= 400 {
			var p struct{ Status int }
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || !strings.Contains(ct, "json") {
				t.Fatalf("%s %s: %d %s %s", method, path, rec.Code, ct, rec.Body)
			}
		}
	})
}
