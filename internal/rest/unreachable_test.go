package rest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// listen serves each connection of a loopback listener with handle, and
// returns the listener's address.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(conn)
		}
	}()
	return ln.Addr().String()
}

// TestUnreachableKinds makes each kind of transport failure happen for real
// and checks that the error, and the trace's attempt, say which it was,
// without the request's URL.
func TestUnreachableKinds(t *testing.T) {
	t.Parallel()
	once := RetryPolicy{MaxAttempts: 1}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors it is here for
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	// Accepts and resets the connection at once (SO_LINGER 0 sends RST).
	reset := listen(t, func(conn net.Conn) {
		_ = conn.(*net.TCPConn).SetLinger(0)
		buf := make([]byte, 1)
		_, _ = conn.Read(buf)
		conn.Close()
	})
	// Accepts, reads the request and closes without an answer.
	hangUp := listen(t, func(conn net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(conn))
		conn.Close()
	})
	// Answers anything with bytes that are neither TLS nor HTTP.
	garbage := listen(t, func(conn net.Conn) {
		_, _ = io.WriteString(conn, "\x00\x01garbage\r\n\r\n")
		conn.Close()
	})
	// Accepts and never says anything: a TLS handshake never ends.
	silent := listen(t, func(conn net.Conn) {
		t.Cleanup(func() { conn.Close() })
	})
	shortHandshake := NewTransport()
	shortHandshake.TLSHandshakeTimeout = 50 * time.Millisecond

	tests := []struct {
		name    string
		baseURL string
		opts    []Option
		want    Kind
	}{
		{"refused", closed.URL, nil, KindRefused},
		{"dns", "http://upstream.invalid/v1", nil, KindDNS},
		{"tls: unknown authority", untrusted.URL, nil, KindTLS},
		{"tls: an HTTP server", strings.Replace(plain.URL, "http:", "https:", 1), nil, KindTLS},
		{"tls: not a TLS record", "https://" + garbage, nil, KindTLS},
		{"reset", "http://" + reset, nil, KindReset},
		{"closed without an answer", "http://" + hangUp, nil, KindReset},
		{"timeout", "https://" + silent, []Option{WithHTTPClient(&http.Client{Transport: shortHandshake})}, KindTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, err := New(tt.baseURL, append(tt.opts, WithRetryPolicy(once))...)
			if err != nil {
				t.Fatal(err)
			}
			trace := &Trace{}
			_, err = client.Do(WithTrace(context.Background(), trace), Credentials{APIKey: "secret-key"}, getIntegration("my-project", "read-accounts"))
			var unreachable *UnreachableError
			if !errors.As(err, &unreachable) {
				t.Fatalf("err = %v, want an *UnreachableError", err)
			}
			if unreachable.Kind != tt.want {
				t.Errorf("Kind = %q, want %q (err: %v)", unreachable.Kind, tt.want, err)
			}
			last := trace.Last()
			if last.StatusCode != 0 || last.Cause != tt.want || last.Failure == "" || last.Failure != unreachable.Detail() {
				t.Errorf("attempt = %+v, want cause %q and the failure", last, tt.want)
			}
			if strings.Contains(last.Failure, "read-accounts") || strings.Contains(last.Failure, "secret-key") {
				t.Errorf("Failure holds the URL or a credential: %q", last.Failure)
			}
		})
	}
}

func TestAttemptCauseOfEndedContext(t *testing.T) {
	t.Parallel()
	silent := listen(t, func(conn net.Conn) {
		t.Cleanup(func() { conn.Close() })
	})
	client, err := New("http://"+silent, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want Kind
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, KindTimeout},
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, KindCanceled},
	} {
		ctx, cancel := tt.ctx()
		trace := &Trace{}
		_, err := client.Do(WithTrace(ctx, trace), Credentials{}, getIntegration("p", "i"))
		cancel()
		var unreachable *UnreachableError
		if err == nil || errors.As(err, &unreachable) {
			t.Errorf("%s: err = %v, want the context's", tt.name, err)
		}
		if last := trace.Last(); last.Cause != tt.want || last.Failure != "" {
			t.Errorf("%s: attempt = %+v, want cause %q", tt.name, last, tt.want)
		}
	}
}

// connectProxy is a stand-in HTTPS proxy: it records what it was sent and
// tunnels each CONNECT to target, whatever host the client asked for.
type connectProxy struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
}

func newConnectProxy(t *testing.T, target string) *connectProxy {
	t.Helper()
	p := &connectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Clone(context.Background()))
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

func (p *connectProxy) seen() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.requests...)
}

// TestHTTPSProxySeesOnlyATunnel calls an https upstream through a proxy:
// the proxy gets a CONNECT to the upstream's host and no credential; the
// upstream gets the request and the credentials.
func TestHTTPSProxySeesOnlyATunnel(t *testing.T) {
	t.Parallel()
	var upstreamSaw http.Header
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamSaw = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"i1","name":"read-accounts"}`)
	}))
	t.Cleanup(upstream.Close)
	proxy := newConnectProxy(t, upstream.Listener.Addr().String())
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	transport := NewTransport()
	transport.Proxy = http.ProxyURL(proxyURL)
	transport.TLSClientConfig = &tls.Config{RootCAs: upstream.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	// httptest's certificate is valid for example.com: the proxy tunnels
	// there to the stand-in upstream.
	client, err := New("https://example.com/v1", WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		t.Fatal(err)
	}
	creds := Credentials{APIKey: "secret-key", Authorization: "Bearer secret-jwt"}
	body, err := client.Do(context.Background(), creds, getIntegration("my-project", "read-accounts"))
	if err != nil {
		t.Fatal(err)
	}
	if string(body.Data) != `{"id":"i1","name":"read-accounts"}` || upstreamSaw.Get("X-Api-Key") != "secret-key" || upstreamSaw.Get("Authorization") != "Bearer secret-jwt" {
		t.Errorf("the upstream got %v, answered %q", upstreamSaw, body.Data)
	}
	seen := proxy.seen()
	if len(seen) != 1 || seen[0].Method != http.MethodConnect || seen[0].Host != "example.com:443" {
		t.Fatalf("the proxy saw %d requests, want one CONNECT example.com:443: %+v", len(seen), seen)
	}
	for name, values := range seen[0].Header {
		for _, v := range values {
			if strings.Contains(v, "secret") {
				t.Errorf("the proxy got a credential in %s: %q", name, v)
			}
		}
	}
}

// TestNewTransportReadsTheProxyFromTheEnvironment holds NewTransport to
// Go's standard proxy variables.
func TestNewTransportReadsTheProxyFromTheEnvironment(t *testing.T) {
	t.Parallel()
	proxy := NewTransport().Proxy
	if proxy == nil || reflect.ValueOf(proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Fatal("NewTransport's Proxy is not http.ProxyFromEnvironment: HTTPS_PROXY and NO_PROXY are ignored")
	}
}
