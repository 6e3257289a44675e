package main_test

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// tunnelProxy is a stand-in HTTPS proxy: it records the requests it gets
// and tunnels every CONNECT to target, whatever host was asked for.
type tunnelProxy struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newTunnelProxy(t *testing.T, target string) *tunnelProxy {
	t.Helper()
	p := &tunnelProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Clone(context.Background()))
		p.mu.Unlock()
		if r.Method != http.MethodConnect {
			http.Error(w, "this proxy only tunnels", http.StatusMethodNotAllowed)
			return
		}
		upstream, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		client, buffered, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() {
			_, _ = io.Copy(upstream, buffered)
			upstream.Close()
		}()
		_, _ = io.Copy(client, upstream)
		client.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *tunnelProxy) requests() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.seen...)
}

// TestHTTPSProxy runs the binary with HTTPS_PROXY set and an https
// upstream: the call goes through the proxy's tunnel, and the proxy sees a
// CONNECT to the upstream's host and no credential. With the host in
// NO_PROXY, the proxy is not used.
func TestHTTPSProxy(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../../internal/demo/integrations/read-accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	var upstreamSaw sync.Map
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamSaw.Store("X-Api-Key", r.Header.Get("X-Api-Key"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(upstream.Close)
	// The binary trusts the stand-in's certificate, which is valid for
	// example.com, through Go's SSL_CERT_FILE.
	certFile := filepath.Join(t.TempDir(), "upstream.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: upstream.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := newTunnelProxy(t, upstream.Listener.Addr().String())
	env := []string{"AMPERSAND_API_URL=https://example.com/v1", "SSL_CERT_FILE=" + certFile, "HTTPS_PROXY=" + proxy.URL}

	p := start(t, env)
	client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
	resp, err := client.GetIntegration(context.Background(), newRequest("my-project", "read-accounts"))
	if err != nil {
		t.Fatal(err)
	}
	checkReadAccounts(t, resp.Msg)
	if key, _ := upstreamSaw.Load("X-Api-Key"); key != clientKey {
		t.Errorf("the upstream got X-Api-Key %q", key)
	}
	seen := proxy.requests()
	if len(seen) != 1 || seen[0].Method != http.MethodConnect || seen[0].Host != "example.com:443" {
		t.Fatalf("the proxy saw %d requests, want one CONNECT example.com:443: %+v", len(seen), seen)
	}
	for name, values := range seen[0].Header {
		assertNoSecret(t, name+": "+strings.Join(values, ", "))
	}

	// NO_PROXY: the server goes to example.com itself (and, with no network
	// or no trust in the real host's certificate, fails), not to the proxy.
	p = start(t, append(env, "NO_PROXY=example.com"))
	client = ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = client.GetIntegration(ctx, newRequest("my-project", "read-accounts"))
	if n := len(proxy.requests()); n != 1 {
		t.Errorf("with NO_PROXY the proxy saw %d requests more", n-1)
	}
}
