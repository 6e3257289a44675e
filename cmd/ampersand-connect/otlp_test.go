package main_test

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// collector is a stand-in OpenTelemetry collector that receives spans over
// OTLP, on HTTP (/v1/traces) or gRPC.
type collector struct {
	mu            sync.Mutex
	spans         []*tracepb.Span
	serviceNames  []string
	authorization []string
}

func (c *collector) receive(req *collectortrace.ExportTraceServiceRequest, authorization string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.authorization = append(c.authorization, authorization)
	for _, rs := range req.GetResourceSpans() {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				c.serviceNames = append(c.serviceNames, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
}

func (c *collector) received() ([]*tracepb.Span, []string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spans, c.serviceNames, c.authorization
}

// serveHTTP receives OTLP over HTTP with protobuf bodies; it returns the
// endpoint.
func (c *collector) serveHTTP(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.receive(req, r.Header.Get("Authorization"))
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type grpcCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	c *collector
}

func (g grpcCollector) Export(ctx context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	var authorization string
	if values := metadata.ValueFromIncomingContext(ctx, "authorization"); len(values) > 0 {
		authorization = values[0]
	}
	g.c.receive(req, authorization)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// serveGRPC receives OTLP over gRPC; it returns the endpoint.
func (c *collector) serveGRPC(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, grpcCollector{c: c})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return "http://" + ln.Addr().String()
}

// TestOTLPExport runs the binary with the standard OTEL_* variables, over
// each OTLP protocol, with a batch delay longer than the test: a call
// retried once reaches the collector as one server span and two client
// spans, in the caller's trace, exported when SIGTERM stops the server.
func TestOTLPExport(t *testing.T) {
	t.Parallel()
	const collectorSecret = "Bearer collector-secret-c4a1"
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			c := &collector{}
			endpoint := c.serveHTTP(t)
			if protocol == "grpc" {
				endpoint = c.serveGRPC(t)
			}
			up := newFaultyUpstream(t)
			p := start(t, []string{
				"AMPERSAND_API_URL=" + up.URL + "/v1",
				"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint,
				"OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol,
				"OTEL_EXPORTER_OTLP_HEADERS=authorization=" + strings.ReplaceAll(collectorSecret, " ", "%20"),
				"OTEL_BSP_SCHEDULE_DELAY=600000", // only the flush at exit exports
			})
			req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/ampersand.v1.IntegrationService/GetIntegration",
				strings.NewReader(`{"projectIdOrName":"p","integrationIdOrName":"503-then-200"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Api-Key", clientKey)
			req.Header.Set("Traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}

			if spans, _, _ := c.received(); len(spans) != 0 {
				t.Fatalf("%d spans exported before the server stopped", len(spans))
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-p.done:
				p.done <- err
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, p.stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the server did not exit")
			}

			spans, serviceNames, authorization := c.received()
			var server *tracepb.Span
			for _, s := range spans {
				if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
					server = s
				}
			}
			if server == nil || server.GetName() != "ampersand.v1.IntegrationService/GetIntegration" || hex.EncodeToString(server.GetTraceId()) != traceID {
				t.Fatalf("no server span in the caller's trace among %v", spans)
			}
			attempts := 0
			for _, s := range spans {
				if s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && string(s.GetParentSpanId()) == string(server.GetSpanId()) {
					attempts++
				}
			}
			if len(spans) != 3 || attempts != 2 {
				t.Errorf("%d spans, %d of them attempts of the call; want 3 and 2", len(spans), attempts)
			}
			if len(serviceNames) == 0 || serviceNames[0] != "ampersand-connect" {
				t.Errorf("service names %q", serviceNames)
			}
			if len(authorization) == 0 || authorization[0] != collectorSecret {
				t.Errorf("the collector got authorization %q, want OTEL_EXPORTER_OTLP_HEADERS's", authorization)
			}
			if strings.Contains(p.stderr.String(), "collector-secret") {
				t.Errorf("the server logged the collector's credential:\n%s", p.stderr.String())
			}
		})
	}
}
