package main_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// faultyUpstream misbehaves by integration name: /v1/projects/p/integrations/{fault}.
type faultyUpstream struct {
	*httptest.Server
	body      []byte
	transient sync.Map // fault name → *atomic.Int32
	ended     chan struct{}
	entered   chan struct{}
}

func newFaultyUpstream(t *testing.T) *faultyUpstream {
	t.Helper()
	body, err := os.ReadFile("../../internal/demo/integrations/read-accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := os.ReadFile("../../internal/translate/testdata/integrations/unknown.json")
	if err != nil {
		t.Fatal(err)
	}
	u := &faultyUpstream{body: body, ended: make(chan struct{}, 1), entered: make(chan struct{}, 1)}
	json := func(w http.ResponseWriter, b []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/projects/p/integrations/{fault}", func(w http.ResponseWriter, r *http.Request) {
		switch fault := r.PathValue("fault"); fault {
		case "ok":
			json(w, body)
		case "unknown-enums":
			json(w, unknown)
		case "slow":
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		case "cancel":
			u.entered <- struct{}{}
			<-r.Context().Done()
			u.ended <- struct{}{}
		case "reset":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100000")
			_, _ = w.Write(body[:100])
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if tcp, ok := conn.(*net.TCPConn); ok {
					_ = tcp.SetLinger(0) // RST, not FIN
				}
				conn.Close()
			}
		case "truncated":
			json(w, body[:len(body)/2])
		case "html-502", "html-503":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(map[string]int{"html-502": 502, "html-503": 503}[fault])
			fmt.Fprint(w, "<html><body><h1>Bad Gateway</h1>secret internals</body></html>")
		case "echo": // repeats the credentials it got
			said := r.Header.Get("X-Api-Key") + " and " + r.Header.Get("Authorization")
			w.Header().Set("X-Request-Id", said)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"type":"https://example.com/%s","title":%q,"status":401,"detail":"rejected %s","requestId":%q}`, said, said, said, said)
		case "empty-500":
			w.WriteHeader(500)
		case "empty-200":
			w.Header().Set("Content-Type", "application/json")
		case "huge":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"`)
			chunk := strings.Repeat("x", 1<<20)
			for range 17 {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
			fmt.Fprint(w, `"}`)
		case "429-near":
			if u.count(fault) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(429)
				return
			}
			json(w, body)
		case "429-far":
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"title":"Too Many Requests","status":429,"detail":"rate limit exceeded","requestId":"rl-1"}`)
		case "503-then-200":
			if u.count(fault) == 1 {
				w.WriteHeader(503)
				return
			}
			json(w, body)
		default:
			http.NotFound(w, r)
		}
	})
	u.Server = httptest.NewServer(mux)
	t.Cleanup(u.Close)
	return u
}

func (u *faultyUpstream) count(fault string) int32 {
	n, _ := u.transient.LoadOrStore(fault, new(atomic.Int32))
	return n.(*atomic.Int32).Add(1)
}

type errorDetails struct {
	info    *errdetails.ErrorInfo
	retry   *errdetails.RetryInfo
	problem *ampersandv1.Problem
	count   int
}

func detailsOf(t *testing.T, err *connect.Error) errorDetails {
	t.Helper()
	var d errorDetails
	assertNoSecret(t, err.Error())
	for _, detail := range err.Details() {
		value, derr := detail.Value()
		if derr != nil {
			t.Fatal(derr)
		}
		if text, err := protojson.Marshal(value); err == nil {
			assertNoSecret(t, string(text))
		}
		d.count++
		switch v := value.(type) {
		case *errdetails.ErrorInfo:
			if d.info != nil {
				t.Error("more than one ErrorInfo")
			}
			d.info = v
		case *errdetails.RetryInfo:
			d.retry = v
		case *ampersandv1.Problem:
			d.problem = v
		}
	}
	if d.info == nil {
		t.Error("no ErrorInfo")
	}
	return d
}

// TestFaults drives the real binary against a misbehaving upstream. Each
// row asserts the code, the message, the details and a bound on the time.
func TestFaults(t *testing.T) {
	t.Parallel()
	up := newFaultyUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "AMPERSAND_API_KEY=" + serverKey}, "-upstream-timeout", "4s")
	client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)

	tests := []struct {
		fault       string
		deadline    time.Duration
		wantCode    connect.Code // 0: success
		wantReason  string
		wantMessage string
		wantRetry   bool
		wantProblem bool
		minTime     time.Duration
		maxTime     time.Duration
	}{
		{fault: "ok", maxTime: 2 * time.Second},
		{fault: "slow", deadline: 300 * time.Millisecond, wantCode: connect.CodeDeadlineExceeded, wantReason: "UPSTREAM_TIMEOUT", minTime: 250 * time.Millisecond, maxTime: 2 * time.Second},
		{fault: "slow", wantCode: connect.CodeUnavailable, wantReason: "UPSTREAM_TIMEOUT", wantMessage: "upstream did not answer within the service's upstream timeout", minTime: 3900 * time.Millisecond, maxTime: 6 * time.Second},
		{fault: "reset", wantCode: connect.CodeUnavailable, wantReason: "UPSTREAM_UNREACHABLE", wantMessage: "upstream is unreachable", maxTime: 2 * time.Second},
		{fault: "truncated", wantCode: connect.CodeInternal, wantReason: "UPSTREAM_RESPONSE_INVALID", wantMessage: "upstream sent an invalid integration: latestRevision.content.read.objects[1]: malformed JSON at byte", maxTime: 2 * time.Second},
		{fault: "html-502", wantCode: connect.CodeUnavailable, wantReason: "BAD_GATEWAY", wantMessage: "upstream answered 502: Bad Gateway", maxTime: 2 * time.Second},
		{fault: "html-503", wantCode: connect.CodeUnavailable, wantReason: "SERVICE_UNAVAILABLE", wantMessage: "upstream answered 503: Service Unavailable", maxTime: 2 * time.Second},
		{fault: "echo", wantCode: connect.CodeUnauthenticated, wantReason: "REDACTED_AND_REDACTED", wantMessage: "upstream answered 401: rejected [REDACTED] and [REDACTED]", wantProblem: true, maxTime: 2 * time.Second},
		{fault: "empty-500", wantCode: connect.CodeInternal, wantReason: "INTERNAL_SERVER_ERROR", wantMessage: "upstream answered 500: Internal Server Error", maxTime: 2 * time.Second},
		{fault: "empty-200", wantCode: connect.CodeInternal, wantReason: "UPSTREAM_RESPONSE_INVALID", wantMessage: "upstream sent an invalid integration: (body): empty body, want JSON", maxTime: 2 * time.Second},
		{fault: "huge", wantCode: connect.CodeInternal, wantReason: "UPSTREAM_RESPONSE_INVALID", wantMessage: "upstream sent an invalid response: body exceeds 16777216 bytes", maxTime: 5 * time.Second},
		{fault: "429-near", minTime: time.Second, maxTime: 3 * time.Second},
		{fault: "429-far", wantCode: connect.CodeResourceExhausted, wantReason: "TOO_MANY_REQUESTS", wantMessage: "upstream answered 429: rate limit exceeded", wantRetry: true, wantProblem: true, maxTime: 2 * time.Second},
		{fault: "503-then-200", maxTime: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s deadline=%v", tt.fault, tt.deadline), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			begin := time.Now()
			_, err := client.GetIntegration(ctx, newRequest("p", tt.fault))
			elapsed := time.Since(begin)
			if elapsed < tt.minTime || elapsed > tt.maxTime {
				t.Errorf("took %v, want within [%v, %v]", elapsed, tt.minTime, tt.maxTime)
			}
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var connectErr *connect.Error
			if !errors.As(err, &connectErr) || connectErr.Code() != tt.wantCode {
				t.Fatalf("err = %v, want code %v", err, tt.wantCode)
			}
			if tt.wantCode == connect.CodeDeadlineExceeded {
				// The client's deadline also ends its own wait: it reports
				// its own error, and what the server answered is checked in
				// internal/service's tests.
				return
			}
			if !strings.HasPrefix(connectErr.Message(), tt.wantMessage) {
				t.Errorf("message = %q, want %q", connectErr.Message(), tt.wantMessage)
			}
			if strings.Contains(connectErr.Message(), "secret internals") {
				t.Error("the upstream's body was echoed")
			}
			d := detailsOf(t, connectErr)
			if d.info.GetReason() != tt.wantReason {
				t.Errorf("reason = %q, want %q", d.info.GetReason(), tt.wantReason)
			}
			if (d.retry != nil) != tt.wantRetry || (d.problem != nil) != tt.wantProblem {
				t.Errorf("RetryInfo %v, Problem %v", d.retry, d.problem)
			}
			if tt.wantRetry && d.retry.GetRetryDelay().AsDuration() < 100*time.Second {
				t.Errorf("retry delay = %v", d.retry.GetRetryDelay().AsDuration())
			}
		})
	}

	t.Run("client cancels", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() {
			_, err := client.GetIntegration(ctx, newRequest("p", "cancel"))
			result <- err
		}()
		<-up.entered
		cancel()
		if err := <-result; connect.CodeOf(err) != connect.CodeCanceled {
			t.Errorf("err = %v", err)
		}
		select {
		case <-up.ended:
		case <-time.After(3 * time.Second):
			t.Error("the upstream request did not end when the client cancelled")
		}
	})
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	p := start(t, []string{"AMPERSAND_API_URL=http://" + closed + "/v1", "ADMIN_ADDR=127.0.0.1:0"})
	client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
	begin := time.Now()
	_, err = client.GetIntegration(context.Background(), newRequest("p", "i"))
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeUnavailable || connectErr.Message() != "upstream is unreachable" {
		t.Fatalf("err = %v", err)
	}
	if d := detailsOf(t, connectErr); d.info.GetReason() != "UPSTREAM_UNREACHABLE" {
		t.Errorf("reason = %q", d.info.GetReason())
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if strings.Contains(connectErr.Message(), closed) {
		t.Error("the message names the upstream's address")
	}
	if len(connectErr.Details()) != 1 {
		t.Errorf("details = %d, want the ErrorInfo alone", len(connectErr.Details()))
	}
	// Three attempts, logged as one call that says why, for the operator
	// only: the client's error above says nothing of it.
	logs := waitForLog(t, p, `"attempts":3`)
	if !strings.Contains(logs, `"cause":"refused"`) || !strings.Contains(logs, `"upstreamError":"dial tcp `+closed+`: connect: connection refused"`) {
		t.Errorf("the call's line does not say why:\n%s", logs)
	}
	if metrics := scrape(t, p); !strings.Contains(metrics, `ampersand_connect_upstream_failures_total{cause="refused"} 3`) {
		t.Errorf("metrics lack the failures by cause:\n%s", metrics)
	}
}

// scrape returns the server's metrics.
func scrape(t *testing.T, p *process) string {
	t.Helper()
	resp, err := http.Get("http://" + p.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// assertNoSecret fails when s holds one of the tests' credentials.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{clientKey, serverKey, clientJWT, "client-jwt"} {
		if strings.Contains(s, secret) {
			t.Errorf("a credential escaped: %s", s)
		}
	}
}

func waitForLog(t *testing.T, p *process, substr string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if logs := p.stderr.String(); strings.Contains(logs, substr) {
			return logs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line with %s:\n%s", substr, p.stderr.String())
	return ""
}

// TestBadClientInput sends malformed, oversize and invalid requests: a
// clear error, no upstream call, no crash.
func TestBadClientInput(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(up.Close)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1"})
	endpoint := "http://" + p.addr + "/ampersand.v1.IntegrationService/GetIntegration"
	post := func(contentType, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Api-Key", clientKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		assertNoSecret(t, string(b))
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, contentType, body, wantCode string
	}{
		{"malformed json", "application/json", `{"projectIdOrName":`, "invalid_argument"},
		{"wrong json type", "application/json", `{"projectIdOrName":42,"integrationIdOrName":"i"}`, "invalid_argument"},
		{"malformed binary", "application/proto", "\xff\xff\xff\xff", "invalid_argument"},
		{"oversize", "application/json", `{"projectIdOrName":"` + strings.Repeat("a", 100<<10) + `","integrationIdOrName":"i"}`, "resource_exhausted"},
		{"empty names", "application/json", `{}`, "invalid_argument"},
		{"dot dot", "application/json", `{"projectIdOrName":"..","integrationIdOrName":"i"}`, "invalid_argument"},
		{"control character", "application/json", `{"projectIdOrName":"p\u0000","integrationIdOrName":"i"}`, "invalid_argument"},
		{"too long", "application/json", `{"projectIdOrName":"` + strings.Repeat("a", 1025) + `","integrationIdOrName":"i"}`, "invalid_argument"},
		{"unknown content type", "text/plain", `hello`, ""},
	}
	for _, tt := range tests {
		status, body := post(tt.contentType, tt.body)
		if tt.wantCode == "" {
			if status != http.StatusUnsupportedMediaType {
				t.Errorf("%s: %d %s", tt.name, status, body)
			}
			continue
		}
		if !strings.Contains(body, `"code":"`+tt.wantCode+`"`) || strings.Count(body, `"type":"google.rpc.ErrorInfo"`) != 1 {
			t.Errorf("%s: %d %s, want %s with one ErrorInfo", tt.name, status, body, tt.wantCode)
		}
	}
	// Unknown JSON fields are ignored, as proto-JSON readers do for forward
	// compatibility; the call then goes on to the upstream.
	if status, body := post("application/json", `{"projectIdOrName":"p","integrationIdOrName":"i","futureField":1}`); strings.Contains(body, "invalid_argument") {
		t.Errorf("unknown field refused: %d %s", status, body)
	}
	if calls.Load() != 1 {
		t.Errorf("the upstream was called %d times, want only for the last, valid call", calls.Load())
	}
	// The calls connect-go refused before the service ran have their log
	// lines too.
	logs := waitForLog(t, p, `"code":"resource_exhausted"`)
	for _, want := range []string{
		`"msg":"call","procedure":"/ampersand.v1.IntegrationService/GetIntegration","protocol":"connect","code":"resource_exhausted"`,
		`"code":"invalid_argument","durationMs":`,
		`"attempts":0,"error":"unmarshal`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	// Still serving.
	if _, err := http.Get("http://" + p.addr + "/grpc.health.v1.Health/Check"); err != nil {
		t.Errorf("server down after bad input: %v", err)
	}
}

// TestObservability checks the log line of a call, the metrics on the admin
// listener, and NOT_SERVING while draining.
func TestObservability(t *testing.T) {
	t.Parallel()
	up := newFaultyUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "ADMIN_ADDR=127.0.0.1:0"}, "-drain-delay", "1s")
	if p.adminAddr == "" {
		t.Fatal("no admin listener")
	}
	client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
	for _, fault := range []string{"ok", "unknown-enums", "503-then-200", "html-502"} {
		_, _ = client.GetIntegration(context.Background(), newRequest("p", fault))
	}
	logs := waitForLog(t, p, `"code":"unavailable"`)
	for _, want := range []string{`"msg":"call"`, `"procedure":"/ampersand.v1.IntegrationService/GetIntegration"`, `"upstreamStatus":502`, `"attempts":2`, `"durationMs":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}

	resp, err := http.Get("http://" + p.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ampersand_connect_calls_total{code="ok",procedure="/ampersand.v1.IntegrationService/GetIntegration",protocol="connect"} 3`,
		`ampersand_connect_calls_total{code="unavailable",procedure="/ampersand.v1.IntegrationService/GetIntegration",protocol="connect"} 1`,
		`ampersand_connect_upstream_retries_total 3`,
		`ampersand_connect_upstream_request_duration_seconds_count{status="502"} 3`,
		`ampersand_connect_unknown_enum_values_total{field="latestRevision.content.read.objects[].delivery.mode"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, p, "draining")
	conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health while draining = %v, %v", health, err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
		p.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit")
	}
}

// TestAdminAddressWarning: an admin listener on every interface is warned
// of at start; one on loopback is not.
func TestAdminAddressWarning(t *testing.T) {
	t.Parallel()
	const warning = "the admin listener is not on loopback"
	open := start(t, []string{"ADMIN_ADDR=0.0.0.0:0"}, "-demo")
	waitForLog(t, open, warning)
	private := start(t, []string{"ADMIN_ADDR=127.0.0.1:0"}, "-demo")
	if strings.Contains(private.stderr.String(), warning) {
		t.Errorf("warned of a loopback admin listener:\n%s", private.stderr.String())
	}
}
