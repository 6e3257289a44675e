package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"connectrpc.com/grpchealth"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
)

// ports are both listeners of the server, in process: the main port's
// handler and the gRPC port's grpc-go server, as run builds them.
type ports struct {
	main, grpc string // base URLs, cleartext HTTP/2
	logs       *syncBuffer
}

// startPorts serves svc and checker on both listeners, and register's
// services on the gRPC one too.
func startPorts(t *testing.T, svc *service.Service, checker grpchealth.Checker, register ...func(*grpc.Server)) *ports {
	t.Helper()
	p := &ports{logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(p.logs, nil))
	m := newMetrics()
	handler, err := newHandler(svc, checker, logger, m, nil, noTracing())
	if err != nil {
		t.Fatal(err)
	}
	main := httptest.NewUnstartedServer(handler)
	main.Config.Protocols = new(http.Protocols)
	main.Config.Protocols.SetHTTP1(true)
	main.Config.Protocols.SetUnencryptedHTTP2(true)
	main.Start()
	t.Cleanup(main.Close)
	p.main = main.URL

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newGRPCServer(svc, logger, m, nil, propagation.TraceContext{})
	for _, r := range register {
		r(srv)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	p.grpc = "http://" + ln.Addr().String()
	return p
}

// newTestService is a service in front of an upstream that answers 404 to
// everything, with a server key.
func newTestService(t *testing.T) *service.Service {
	t.Helper()
	up := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(up.Close)
	client, err := rest.New(up.URL + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	return service.New(client, service.WithAPIKey("k"), service.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
}

func h2cClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}

// gzipBomb returns gzip data that inflates to about mib MiB of zeros: one
// gzip member of 1 MiB, repeated (a gzip file may hold several members,
// read one after another). With badTail, a last member's checksum is
// wrong: a reader finds out only if it inflates to the end.
func gzipBomb(t *testing.T, mib int, badTail bool) []byte {
	t.Helper()
	var member bytes.Buffer
	w, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if _, err := w.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	bomb := bytes.Repeat(member.Bytes(), mib)
	if badTail {
		tail := bytes.Clone(member.Bytes())
		tail[len(tail)-8] ^= 0xff // the CRC-32 of the trailer
		bomb = append(bomb, tail...)
	}
	return bomb
}

// envelope frames a gRPC message, compressed or not.
func envelope(compressed bool, msg []byte) []byte {
	out := make([]byte, 5, 5+len(msg))
	if compressed {
		out[0] = 1
	}
	binary.BigEndian.PutUint32(out[1:], uint32(len(msg)))
	return append(out, msg...)
}

// grpcStatus posts a gzip-compressed gRPC message to a procedure and
// returns the answer's grpc-status and grpc-message.
func grpcStatus(t *testing.T, url string, body []byte) (string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Grpc-Encoding", "gzip")
	req.Header.Set("Te", "trailers")
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if s := resp.Header.Get("Grpc-Status"); s != "" { // trailers-only
		return s, resp.Header.Get("Grpc-Message")
	}
	return resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
}

// allocated returns how many bytes the process allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestGzipBombs sends gzip bombs to every procedure of both ports: health,
// reflection and the service. Each is refused with resource_exhausted, and
// the process allocates a bounded amount for it (it is not parallel, so
// that the count is its own). A bomb over the message limit (1 MB of gzip,
// 1 GiB inflated) is refused by its size; one under the limit (62 KB,
// 62 MiB inflated) is inflated no further than the limit.
func TestGzipBombs(t *testing.T) {
	p := startPorts(t, newTestService(t), grpchealth.NewStaticChecker(ampersandv1connect.IntegrationServiceName))
	large := envelope(true, gzipBomb(t, 1024, false))
	// The bad checksum at the end of this one is never reached when
	// inflating stops at the limit; inflating it all fails on it.
	small := envelope(true, gzipBomb(t, 60, true))
	if len(small) >= maxRequestBytes {
		t.Fatalf("the small bomb is %d bytes", len(small))
	}
	procedures := []string{
		"/grpc.health.v1.Health/Check",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
		ampersandv1connect.IntegrationServiceGetIntegrationProcedure,
	}
	const bound = 32 << 20
	for _, port := range []struct{ name, url string }{{"main", p.main}, {"grpc", p.grpc}} {
		for _, procedure := range procedures {
			for _, bomb := range []struct {
				name string
				body []byte
			}{{"1 GiB", large}, {"60 MiB", small}} {
				var status, message string
				n := allocated(func() { status, message = grpcStatus(t, port.url+procedure, bomb.body) })
				if status != "8" { // resource_exhausted
					t.Errorf("%s port, %s, %s bomb: grpc-status %q (%s), want 8", port.name, procedure, bomb.name, status, message)
				}
				if strings.Contains(message, "checksum") || strings.Contains(message, "unable to determine") {
					t.Errorf("%s port, %s, %s bomb: inflated to the end: %s", port.name, procedure, bomb.name, message)
				}
				if n > bound {
					t.Errorf("%s port, %s, %s bomb: %d MiB allocated, want at most %d", port.name, procedure, bomb.name, n>>20, bound>>20)
				}
			}
		}
	}
}
