package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/service"
)

// Distinctive values, so that a leak into a span is found by a search.
const (
	traceKey     = "trace-test-key-51c7e2"
	traceJWT     = "Bearer trace-test-jwt-0d93ab"
	bodyMarker   = "body-marker-6f2c81"
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
	callerParent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// flakyUpstream answers 503 to the first request for each integration
// name and 200 to the next ones, and records each request's traceparent.
type flakyUpstream struct {
	*httptest.Server
	mu           sync.Mutex
	seen         map[string]int
	traceparents map[string][]string
}

func newFlakyUpstream(t *testing.T) *flakyUpstream {
	t.Helper()
	u := &flakyUpstream{seen: map[string]int{}, traceparents: map[string][]string{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/p/integrations/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		u.mu.Lock()
		u.seen[name]++
		first := u.seen[name] == 1
		u.traceparents[name] = append(u.traceparents[name], r.Header.Get("Traceparent"))
		u.mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"%s","projectId":"p","name":%q,"provider":"salesforce","createTime":"2024-04-22T18:55:28Z"}`, bodyMarker, name)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *flakyUpstream) traceparentsOf(name string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.traceparents[name]
}

// syncBuffer is a log that tests read while the server writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil {
			lines = append(lines, entry)
		}
	}
	return lines
}

// waitFor polls until find returns true, for at most 10 seconds.
func waitFor(t *testing.T, what string, find func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !find(); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inProcess is the server run by serve in the test's process, with both
// listeners.
type inProcess struct {
	addr, grpcAddr string
	logs           *syncBuffer
}

func serveInProcess(t *testing.T, tr *tracing, args ...string) *inProcess {
	t.Helper()
	cfg, err := parseConfig(append([]string{"-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	p := &inProcess{logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, tr, slog.New(slog.NewJSONHandler(p.logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitFor(t, "listeners", func() bool {
		for _, line := range p.logs.lines() {
			switch line["msg"] {
			case "listening":
				p.addr, _ = line["addr"].(string)
			case "gRPC listening":
				p.grpcAddr, _ = line["addr"].(string)
			}
		}
		return p.addr != "" && p.grpcAddr != ""
	})
	return p
}

// TestTracingRetriedCall makes calls that the upstream answers 503 and
// then 200, on both listeners, with and without a caller's traceparent and
// with and without propagation to the upstream. Each call is one server
// span with a client span per attempt, in the caller's trace when it sent
// one; the call's log line carries the server span's IDs; no span holds a
// credential or the body; the upstream gets a traceparent only when
// propagation is on.
func TestTracingRetriedCall(t *testing.T) {
	t.Parallel()
	up := newFlakyUpstream(t)
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	tr := &tracing{provider: tp, propagator: propagation.TraceContext{}, exporting: true, shutdown: tp.Shutdown}
	servers := map[bool]*inProcess{
		false: serveInProcess(t, tr, "-upstream", up.URL+"/v1"),
		true:  serveInProcess(t, tr, "-upstream", up.URL+"/v1", "-upstream-trace-propagation"),
	}

	type call func(ctx context.Context, p *inProcess, name, traceparent string) error
	calls := map[string]call{
		"connect, main port": func(ctx context.Context, p *inProcess, name, traceparent string) error {
			client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
			req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: name})
			req.Header().Set("X-Api-Key", traceKey)
			req.Header().Set("Authorization", traceJWT)
			if traceparent != "" {
				req.Header().Set("Traceparent", traceparent)
			}
			_, err := client.GetIntegration(ctx, req)
			return err
		},
		"grpc-go, gRPC port": func(ctx context.Context, p *inProcess, name, traceparent string) error {
			conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			defer conn.Close()
			md := metadata.Pairs("x-api-key", traceKey, "authorization", traceJWT)
			if traceparent != "" {
				md.Set("traceparent", traceparent)
			}
			_, err = ampersandv1.NewIntegrationServiceClient(conn).GetIntegration(metadata.NewOutgoingContext(ctx, md),
				&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: name})
			return err
		},
	}
	n := 0
	for callName, do := range calls {
		for _, propagate := range []bool{false, true} {
			for _, traceparent := range []string{callerParent, ""} {
				n++
				name := fmt.Sprintf("i%d", n) // a name of its own: a 503 first
				t.Run(fmt.Sprintf("%s, propagate=%v, traceparent=%v", callName, propagate, traceparent != ""), func(t *testing.T) {
					p := servers[propagate]
					if err := do(context.Background(), p, name, traceparent); err != nil {
						t.Fatal(err)
					}
					// The server span is the parent of the attempts on
					// name's URL; it holds nothing of the request itself.
					var server tracetest.SpanStub
					waitFor(t, "server span", func() bool {
						spans := exporter.GetSpans()
						for _, attempt := range spans {
							if attributeOf(attempt, "url.full") != up.URL+"/v1/projects/p/integrations/"+name {
								continue
							}
							for _, s := range spans {
								if s.SpanContext.SpanID() == attempt.Parent.SpanID() {
									server = s
									return true
								}
							}
						}
						return false
					})
					checkRetriedCall(t, exporter.GetSpans(), server, traceparent != "")
					checkLogLine(t, p.logs, name, server.SpanContext)

					attempts := childrenOf(exporter.GetSpans(), server.SpanContext.SpanID())
					got := up.traceparentsOf(name)
					for i, want := range []string{"", ""} {
						if propagate && i < len(attempts) {
							sc := attempts[i].SpanContext
							want = fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID())
						}
						if i >= len(got) || got[i] != want {
							t.Errorf("the upstream got traceparents %q, want %q at %d", got, want, i)
						}
					}
				})
			}
		}
	}
}

// checkRetriedCall checks the spans of a call whose upstream answered 503
// and then 200.
func checkRetriedCall(t *testing.T, spans tracetest.SpanStubs, server tracetest.SpanStub, fromCaller bool) {
	t.Helper()
	if server.Name != "ampersand.v1.IntegrationService/GetIntegration" {
		t.Errorf("server span named %q", server.Name)
	}
	if fromCaller {
		if server.SpanContext.TraceID().String() != callerTrace || server.Parent.SpanID().String() != callerSpan || !server.Parent.IsRemote() {
			t.Errorf("server span in trace %s under %s, want the caller's %s under %s", server.SpanContext.TraceID(), server.Parent.SpanID(), callerTrace, callerSpan)
		}
	} else if server.Parent.IsValid() {
		t.Errorf("server span has a parent %s without a traceparent", server.Parent.SpanID())
	}
	attempts := childrenOf(spans, server.SpanContext.SpanID())
	if len(attempts) != 2 {
		t.Fatalf("%d child spans, want one per attempt (2)", len(attempts))
	}
	t.Logf("the trace of the call:\n%s", traceText(server, attempts))
	for i, want := range []struct {
		status int64
		resend int64
		code   codes.Code
	}{{503, 0, codes.Error}, {200, 1, codes.Unset}} {
		s := attempts[i]
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes {
			attrs[kv.Key] = kv.Value
		}
		if s.SpanKind != trace.SpanKindClient || s.Name != "GET /v1/projects/{projectIdOrName}/integrations/{integrationIdOrName}" {
			t.Errorf("attempt %d: a %s span named %q", i+1, s.SpanKind, s.Name)
		}
		if attrs["http.response.status_code"].AsInt64() != want.status || attrs["http.request.resend_count"].AsInt64() != want.resend || s.Status.Code != want.code {
			t.Errorf("attempt %d: %s, status %v", i+1, attributesOf(s), s.Status)
		}
	}
	for _, s := range append(attempts, server) {
		text := attributesOf(s) + s.Status.Description
		for _, secret := range []string{traceKey, "trace-test-jwt", bodyMarker, "salesforce"} {
			if strings.Contains(text, secret) {
				t.Errorf("span %q holds %q: %s", s.Name, secret, text)
			}
		}
		if strings.Contains(strings.ToLower(text), "authorization") || strings.Contains(strings.ToLower(text), "x-api-key") {
			t.Errorf("span %q holds a header: %s", s.Name, text)
		}
	}
}

// checkLogLine checks that the call's log line carries the server span's
// trace and span IDs.
func checkLogLine(t *testing.T, logs *syncBuffer, name string, sc trace.SpanContext) {
	t.Helper()
	for _, line := range logs.lines() {
		if line["msg"] == "call" && line["traceId"] == sc.TraceID().String() && line["spanId"] == sc.SpanID().String() {
			return
		}
	}
	t.Errorf("no call line with traceId %s and spanId %s (integration %s)", sc.TraceID(), sc.SpanID(), name)
}

// traceText writes a server span and its attempts' spans as text, one
// span a line, indented under its parent (go test -v shows it).
func traceText(server tracetest.SpanStub, attempts tracetest.SpanStubs) string {
	var b strings.Builder
	line := func(indent string, s tracetest.SpanStub) {
		fmt.Fprintf(&b, "%s%s %q trace=%s span=%s parent=%s %v status=%s %s\n", indent, s.SpanKind, s.Name,
			s.SpanContext.TraceID(), s.SpanContext.SpanID(), s.Parent.SpanID(),
			s.EndTime.Sub(s.StartTime).Round(time.Microsecond), s.Status.Code, attributesOf(s))
	}
	line("", server)
	for _, a := range attempts {
		line("  ", a)
	}
	return b.String()
}

func childrenOf(spans tracetest.SpanStubs, parent trace.SpanID) tracetest.SpanStubs {
	var children tracetest.SpanStubs
	for _, s := range spans {
		if s.Parent.SpanID() == parent {
			children = append(children, s)
		}
	}
	// In the order they started: the attempts' order.
	for i := 1; i < len(children); i++ {
		for j := i; j > 0 && children[j].StartTime.Before(children[j-1].StartTime); j-- {
			children[j], children[j-1] = children[j-1], children[j]
		}
	}
	return children
}

// attributeOf returns the value of a span's attribute key, or "".
func attributeOf(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// attributesOf renders a span's attributes and its events' as JSON.
func attributesOf(s tracetest.SpanStub) string {
	all := map[string]string{}
	for _, kv := range s.Attributes {
		all[string(kv.Key)] = kv.Value.Emit()
	}
	for _, e := range s.Events {
		for _, kv := range e.Attributes {
			all[e.Name+"."+string(kv.Key)] = kv.Value.Emit()
		}
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// TestTraceExportProtocol checks when the OTEL_* variables turn the export
// on, and with which protocol.
func TestTraceExportProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env     map[string]string
		want    string
		wantErr string
	}{
		{nil, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http/protobuf", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "http/protobuf", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, "http/protobuf", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, "grpc", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, "", ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, "http/protobuf", ""},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "", "OTEL_TRACES_EXPORTER"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "", "OTEL_EXPORTER_OTLP_PROTOCOL"},
	}
	for _, tt := range tests {
		got, err := traceExportProtocol(func(key string) string { return tt.env[key] })
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%v: %q, %v; want %q and an error naming %q", tt.env, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestNoTracingKeepsCallersTraceID checks that with tracing off (the
// default) the log line of a call on either listener still carries the
// trace ID the caller sent, and that the upstream gets the caller's
// traceparent as it came when propagation is on, and none otherwise.
func TestNoTracingKeepsCallersTraceID(t *testing.T) {
	t.Parallel()
	up := newFlakyUpstream(t)
	servers := map[bool]*inProcess{
		false: serveInProcess(t, noTracing(), "-upstream", up.URL+"/v1"),
		true:  serveInProcess(t, noTracing(), "-upstream", up.URL+"/v1", "-upstream-trace-propagation"),
	}
	n := 0
	for _, port := range []string{"main", "grpc"} {
		for _, propagate := range []bool{false, true} {
			p := servers[propagate]
			name := fmt.Sprintf("off-%s-%v", port, propagate)
			n++
			traceID := fmt.Sprintf("%032x", n) // one per case
			traceparent := "00-" + traceID + "-" + callerSpan + "-01"
			var err error
			if port == "main" {
				client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
				req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: name})
				req.Header().Set("X-Api-Key", traceKey)
				req.Header().Set("Traceparent", traceparent)
				_, err = client.GetIntegration(context.Background(), req)
			} else {
				conn, dialErr := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if dialErr != nil {
					t.Fatal(dialErr)
				}
				ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", traceKey, "traceparent", traceparent)
				_, err = ampersandv1.NewIntegrationServiceClient(conn).GetIntegration(ctx, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: name})
				conn.Close()
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			found := false
			for _, line := range p.logs.lines() {
				found = found || line["msg"] == "call" && line["traceId"] == traceID && line["spanId"] == callerSpan
			}
			if !found {
				t.Errorf("%s: no call line with the caller's trace ID", name)
			}
			want := ""
			if propagate {
				want = traceparent
			}
			if got := up.traceparentsOf(name); len(got) != 2 || got[0] != want || got[1] != want {
				t.Errorf("%s: the upstream got traceparents %q, want %q twice", name, got, want)
			}
		}
	}
}

// BenchmarkTracingOverhead measures a call of a 1.6 KB integration on each
// listener, served as serve wires it: with tracing off (the default: only
// the caller's trace context is read), with tracing off and not even that
// (as before tracing was added), and exporting (to an exporter that drops
// the spans).
func BenchmarkTracingOverhead(b *testing.B) {
	body := demo.Sized(1600)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer upstream.Close()
	exporting := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer exporting.Shutdown(context.Background())
	uninstrumented := noTracing()
	uninstrumented.propagator = propagation.NewCompositeTextMapPropagator() // reads nothing
	for _, mode := range []struct {
		name    string
		tracing *tracing
	}{
		{"uninstrumented", uninstrumented},
		{"off", noTracing()},
		{"exporting", &tracing{provider: exporting, propagator: propagation.TraceContext{}, exporting: true}},
	} {
		logger := slog.New(traceLogHandler{slog.NewJSONHandler(io.Discard, nil)})
		client, err := newUpstream(&config{upstream: upstream.URL}, mode.tracing)
		if err != nil {
			b.Fatal(err)
		}
		svc := service.New(client, service.WithAPIKey("k"), service.WithLogger(logger))
		m := newMetrics()
		handler, err := newHandler(svc, grpchealth.NewStaticChecker(), logger, m, nil, mode.tracing)
		if err != nil {
			b.Fatal(err)
		}
		main := httptest.NewServer(handler)
		grpcSrv, _ := newGRPCServer(svc, logger, m, nil, mode.tracing.propagator, mode.tracing.grpcServerOptions()...)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = grpcSrv.Serve(ln) }()
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}

		connectClient := ampersandv1connect.NewIntegrationServiceClient(main.Client(), main.URL)
		req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"})
		req.Header().Set("Traceparent", callerParent)
		b.Run("port=main/tracing="+mode.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := connectClient.GetIntegration(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
		grpcClient := ampersandv1.NewIntegrationServiceClient(conn)
		msg := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}
		ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", callerParent)
		b.Run("port=grpc/tracing="+mode.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := grpcClient.GetIntegration(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		conn.Close()
		grpcSrv.Stop()
		main.Close()
	}
}

// reportCPU reports the process's CPU time per operation (client, server
// and upstream together, as they share the process), from its call to the
// call of the function it returns.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// TestCORSAllowsTraceContext checks that a browser page on an allowed
// origin may send the W3C trace context headers: without them in the
// preflight's answer, a page whose fetch is traced could not call at all.
func TestCORSAllowsTraceContext(t *testing.T) {
	t.Parallel()
	handler := withCORS(http.NotFoundHandler(), []string{"https://app.example.com"})
	req := httptest.NewRequest(http.MethodOptions, "/ampersand.v1.IntegrationService/GetIntegration", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "connect-protocol-version,content-type,traceparent,tracestate")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	allowed := strings.ToLower(w.Header().Get("Access-Control-Allow-Headers"))
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(allowed, "traceparent") || !strings.Contains(allowed, "tracestate") {
		t.Errorf("preflight with traceparent: %d %v", w.Code, w.Header())
	}
}
