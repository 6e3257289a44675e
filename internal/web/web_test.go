package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ampersand-connect/gateway/internal/web"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	web.Register(mux)
	mux.HandleFunc("/ampersand.v1.IntegrationService/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	for path, want := range map[string]string{"/": "text/html", "/app.js": "javascript", "/style.css": "text/css", "/favicon.svg": "image/svg+xml"} {
		resp, err := http.Get(server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), want) || len(body) == 0 {
			t.Errorf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: no CSP", path)
		}
	}
	for path, want := range map[string]int{"/favicon.ico": http.StatusNoContent, "/index.html": http.StatusNotFound, "/nope": http.StatusNotFound, "/ampersand.v1.IntegrationService/GetIntegration": http.StatusTeapot} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
