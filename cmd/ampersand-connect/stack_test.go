package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWithGrownStackServesBothProtocols(t *testing.T) {
	handler := withGrownStack(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	for want, client := range map[string]*http.Client{"HTTP/1.1": http.DefaultClient, "HTTP/2.0": {Transport: h2c}} {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("handler saw %q, want %q", body, want)
		}
	}
}

// deep needs about 10 KiB of stack, as serving a call does.
//
//go:noinline
func deep(n int) byte {
	var frame [256]byte
	frame[n%len(frame)] = byte(n)
	if n == 0 {
		return frame[0]
	}
	return deep(n-1) + frame[(n*7)%len(frame)]
}

// BenchmarkNewGoroutineStack compares a new goroutine that grows its stack
// as it goes with one that grows it once with growStack first.
func BenchmarkNewGoroutineStack(b *testing.B) {
	for _, grow := range []bool{false, true} {
		name := "grows as it goes"
		if grow {
			name = "growStack first"
		}
		b.Run(name, func(b *testing.B) {
			done := make(chan byte)
			for b.Loop() {
				go func() {
					if grow {
						_ = growStack()
					}
					done <- deep(36)
				}()
				<-done
			}
		})
	}
}
