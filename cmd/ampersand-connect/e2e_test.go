package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// The credentials of these tests are distinctive, so that a leak into a log
// or an error is found by a plain search.
const (
	clientKey = "client-key-7f3a9c1e5b"
	serverKey = "server-key-2d8e6b4f0a"
	clientJWT = "Bearer client-jwt-9a1b2c3d4e"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// serverBinary builds the server once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ampersand-connect-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "ampersand-connect")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// process is a started server binary.
type process struct {
	cmd       *exec.Cmd
	addr      string
	adminAddr string
	grpcAddr  string // the -grpc-addr listener's, if any
	stderr    *lockedBuffer
	done      chan error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the server binary on a free port with args and env, and waits
// for its "listening" log line.
func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(serverBinary(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	p := &process{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	adminc := make(chan string, 1)
	grpcc := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(pipe)
		for scanner.Scan() {
			line := scanner.Text()
			fmt.Fprintln(p.stderr, line)
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil {
				switch entry.Msg {
				case "listening":
					addrc <- entry.Addr
				case "admin listening":
					adminc <- entry.Addr
				case "gRPC listening":
					grpcc <- entry.Addr
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		for _, secret := range []string{clientKey, serverKey, clientJWT, "client-jwt"} {
			if strings.Contains(p.stderr.String(), secret) {
				t.Errorf("the server logged a credential:\n%s", p.stderr.String())
			}
		}
	})
	select {
	case p.addr = <-addrc:
		select {
		case p.adminAddr = <-adminc:
		default:
		}
		if slices.ContainsFunc(append(args, env...), func(arg string) bool {
			return strings.HasPrefix(arg, "-grpc-addr") || strings.HasPrefix(arg, "GRPC_ADDR=")
		}) {
			select {
			case p.grpcAddr = <-grpcc: // logged right after "listening"
			case <-time.After(10 * time.Second):
				t.Fatalf("no gRPC listener:\n%s", p.stderr.String())
			}
		}
	case err := <-p.done:
		t.Fatalf("server exited: %v\n%s", err, p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", p.stderr.String())
	}
	return p
}

// upstream is a stand-in REST API: read-accounts of my-project, a slow
// integration, and a problem 404 for anything else.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	entered chan struct{}
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	body, err := os.ReadFile("../../internal/demo/integrations/read-accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{entered: make(chan struct{}, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/projects/my-project/integrations/read-accounts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /v1/projects/my-project/integrations/slow", func(w http.ResponseWriter, r *http.Request) {
		u.entered <- struct{}{}
		time.Sleep(time.Second)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"type":"about:blank","title":"Not Found","status":404,"detail":"integration not found","requestId":"req-42","issues":[{"name":"integrationIdOrName","detail":"no such integration","in":"path","value":"nope"}]}`)
	})
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastHeader() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		return nil
	}
	return u.headers[len(u.headers)-1]
}

// sawHeader reports whether the upstream got a request whose headers
// match.
func (u *upstream) sawHeader(match func(http.Header) bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.ContainsFunc(u.headers, match)
}

func newRequest(project, integration string) *connect.Request[ampersandv1.GetIntegrationRequest] {
	req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: project, IntegrationIdOrName: integration})
	req.Header().Set("X-Api-Key", clientKey)
	req.Header().Set("Authorization", clientJWT)
	return req
}

// h2cClient speaks HTTP/2 with prior knowledge over cleartext.
func h2cClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "AMPERSAND_API_KEY=" + serverKey})
	baseURL := "http://" + p.addr

	connectClients := map[string]ampersandv1connect.IntegrationServiceClient{
		"connect-json-http1": ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL, connect.WithProtoJSON()),
		"connect-proto-h2c":  ampersandv1connect.NewIntegrationServiceClient(h2cClient(), baseURL),
		"connect-get":        ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL, connect.WithHTTPGet()),
		"grpcweb-http1":      ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL, connect.WithGRPCWeb()),
		"grpcweb-json-h2c":   ampersandv1connect.NewIntegrationServiceClient(h2cClient(), baseURL, connect.WithGRPCWeb(), connect.WithProtoJSON()),
		"connect-grpc-h2c":   ampersandv1connect.NewIntegrationServiceClient(h2cClient(), baseURL, connect.WithGRPC()),
		"connect-json-gzip":  ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL, connect.WithProtoJSON(), connect.WithSendGzip()),
	}
	for name, client := range connectClients {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, err := client.GetIntegration(context.Background(), newRequest("my-project", "read-accounts"))
			if err != nil {
				t.Fatal(err)
			}
			checkReadAccounts(t, resp.Msg)

			_, err = client.GetIntegration(context.Background(), newRequest("my-project", "nope"))
			var connectErr *connect.Error
			if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeNotFound || connectErr.Message() != "upstream answered 404: integration not found" {
				t.Fatalf("err = %v", err)
			}
			assertNoSecret(t, fmt.Sprint(connectErr, connectErr.Details()))
			var sawInfo, sawProblem, sawBadRequest bool
			for _, d := range connectErr.Details() {
				value, err := d.Value()
				if err != nil {
					t.Fatal(err)
				}
				switch v := value.(type) {
				case *errdetails.ErrorInfo:
					sawInfo = v.GetReason() == "NOT_FOUND" && v.GetMetadata()["requestId"] == "req-42"
				case *ampersandv1.Problem:
					sawProblem = v.GetDetail() == "integration not found" && v.GetIssues()[0].GetValue().GetStringValue() == "nope"
				case *errdetails.BadRequest:
					sawBadRequest = v.GetFieldViolations()[0].GetField() == "integrationIdOrName"
				}
			}
			if !sawInfo || !sawProblem || !sawBadRequest {
				t.Errorf("details: ErrorInfo %v, Problem %v, BadRequest %v", sawInfo, sawProblem, sawBadRequest)
			}
		})
	}

	t.Run("connect-get-raw", func(t *testing.T) {
		t.Parallel()
		query := url.Values{
			"encoding": {"json"},
			"message":  {`{"projectIdOrName":"my-project","integrationIdOrName":"read-accounts"}`},
		}
		req, _ := http.NewRequest(http.MethodGet, baseURL+"/ampersand.v1.IntegrationService/GetIntegration?"+query.Encode(), nil)
		req.Header.Set("X-Api-Key", clientKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"mapping":{"mapToName":"priority"`) {
			t.Fatalf("GET: %d %s", resp.StatusCode, body)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != "private, no-cache" {
			t.Fatalf("GET caching headers: %v", resp.Header)
		}
		req.Header.Set("If-None-Match", etag)
		notModified, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		notModified.Body.Close()
		if notModified.StatusCode != http.StatusNotModified {
			t.Errorf("GET with If-None-Match: %d", notModified.StatusCode)
		}
	})

	t.Run("grpc-go", func(t *testing.T) {
		t.Parallel()
		conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", clientJWT)
		client := ampersandv1.NewIntegrationServiceClient(conn) // the generated grpc-go client
		resp, err := client.GetIntegration(ctx, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"})
		if err != nil {
			t.Fatal(err)
		}
		checkReadAccounts(t, resp)
		// Other subtests call the upstream at the same time.
		if !up.sawHeader(func(h http.Header) bool { return h.Get("Authorization") == clientJWT && h.Get("X-Api-Key") == "" }) {
			t.Error("the upstream got no call with the authorization alone")
		}

		_, err = client.GetIntegration(ctx, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "..", IntegrationIdOrName: "read-accounts"})
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("err = %v", err)
		}
		var field string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				field = br.GetFieldViolations()[0].GetField()
			}
		}
		if field != "project_id_or_name" {
			t.Errorf("BadRequest field = %q", field)
		}

		health := healthpb.NewHealthClient(conn)
		for _, service := range []string{"", "ampersand.v1.IntegrationService"} {
			resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health %q: %v %v", service, resp, err)
			}
		}
		if _, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
			t.Errorf("health of an unknown service: %v", err)
		}
	})

	t.Run("server key", func(t *testing.T) {
		t.Parallel()
		client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL)
		req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"})
		if _, err := client.GetIntegration(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if !up.sawHeader(func(h http.Header) bool { return h.Get("X-Api-Key") == serverKey && h.Get("Authorization") == "" }) {
			t.Error("the upstream got no call with the server's key")
		}
	})

	t.Run("reflection", func(t *testing.T) {
		t.Parallel()
		conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		v1, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := v1.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := v1.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var services []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			services = append(services, s.GetName())
		}
		if !strings.Contains(strings.Join(services, ","), "ampersand.v1.IntegrationService") {
			t.Errorf("v1 services = %v", services)
		}
		v1alpha, err := reflectionv1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := v1alpha.Send(&reflectionv1alpha.ServerReflectionRequest{MessageRequest: &reflectionv1alpha.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "ampersand.v1.IntegrationService"}}); err != nil {
			t.Fatal(err)
		}
		alphaResp, err := v1alpha.Recv()
		if err != nil || len(alphaResp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
			t.Errorf("v1alpha file containing symbol: %v %v", alphaResp, err)
		}
	})

	t.Run("grpcurl", func(t *testing.T) {
		t.Parallel()
		out, code := grpcurl(t, "-plaintext", p.addr, "list")
		if code != 0 || !strings.Contains(out, "ampersand.v1.IntegrationService") || !strings.Contains(out, "grpc.health.v1.Health") {
			t.Errorf("list: exit %d\n%s", code, out)
		}
		out, code = grpcurl(t, "-plaintext", p.addr, "describe", "ampersand.v1.IntegrationField")
		if code != 0 || !strings.Contains(out, "oneof field") {
			t.Errorf("describe: exit %d\n%s", code, out)
		}
		out, code = grpcurl(t, "-plaintext", "-H", "x-api-key: "+clientKey,
			"-d", `{"projectIdOrName":"my-project","integrationIdOrName":"read-accounts"}`,
			p.addr, "ampersand.v1.IntegrationService/GetIntegration")
		if code != 0 || !strings.Contains(out, `"fieldName": "id"`) {
			t.Errorf("call: exit %d\n%s", code, out)
		}
		out, code = grpcurl(t, "-plaintext", "-H", "x-api-key: "+clientKey,
			"-d", `{"projectIdOrName":"my-project","integrationIdOrName":"nope"}`,
			p.addr, "ampersand.v1.IntegrationService/GetIntegration")
		if code == 0 || !strings.Contains(out, "NotFound") || !strings.Contains(out, "ampersand.v1.Problem") || !strings.Contains(out, `"reason": "NOT_FOUND"`) {
			t.Errorf("error details: exit %d\n%s", code, out)
		}
	})

	t.Run("buf curl", func(t *testing.T) {
		t.Parallel()
		for _, protocol := range []string{"grpc", "grpcweb", "connect"} {
			out, stderr, code := bufCurl(t, "--protocol", protocol, "--http2-prior-knowledge",
				"-H", "x-api-key: "+clientKey,
				"-d", `{"projectIdOrName":"my-project","integrationIdOrName":"read-accounts"}`,
				baseURL+"/ampersand.v1.IntegrationService/GetIntegration")
			if code != 0 || !strings.Contains(out, `"fieldName": "id"`) || !strings.Contains(out, `"mapToName": "priority"`) {
				t.Errorf("%s: exit %d\n%s\n%s", protocol, code, out, stderr)
			}
			_, stderr, code = bufCurl(t, "--protocol", protocol, "--http2-prior-knowledge",
				"-H", "x-api-key: "+clientKey,
				"-d", `{"projectIdOrName":"my-project","integrationIdOrName":"nope"}`,
				baseURL+"/ampersand.v1.IntegrationService/GetIntegration")
			if code != int(connect.CodeNotFound)*8 || !strings.Contains(stderr, "not_found") {
				t.Errorf("%s: error exit %d\n%s", protocol, code, stderr)
			}
		}
		out, stderr, code := bufCurl(t, "--http2-prior-knowledge", "--list-methods", baseURL)
		if code != 0 || !strings.Contains(out, "ampersand.v1.IntegrationService/GetIntegration") {
			t.Errorf("list methods: exit %d\n%s\n%s", code, out, stderr)
		}
	})
}

// grpcurl runs grpcurl (through reflection only, as a go tool of its own
// module) and returns its combined output and exit code.
func grpcurl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "-modfile=tools/grpcurl/go.mod", "grpcurl"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("grpcurl: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// bufCurl runs buf curl, through reflection only, and returns its stdout,
// stderr and exit code.
func bufCurl(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "-modfile=tools/buf/go.mod", "buf", "curl"}, args...)...)
	cmd.Dir = "../.."
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("buf curl: %v", err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

func checkReadAccounts(t *testing.T, resp *ampersandv1.GetIntegrationResponse) {
	t.Helper()
	integration := resp.GetIntegration()
	fields := integration.GetLatestRevision().GetContent().GetRead().GetObjects()[0].GetRequiredFields()
	if integration.GetName() != "read-accounts" || fields[0].GetExistent().GetFieldName() != "id" || fields[2].GetMapping().GetMapToName() != "priority" {
		t.Errorf("unexpected integration: %v", integration)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	p := start(t, []string{"AMPERSAND_API_URL=http://127.0.0.1:1/v1"}, "-demo")
	client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr, connect.WithProtoJSON())
	req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"})
	resp, err := client.GetIntegration(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkReadAccounts(t, resp.Msg)
	content := resp.Msg.GetIntegration().GetLatestRevision().GetContent()
	if content.GetWrite() == nil || content.GetProxy() == nil || content.GetSubscribe() == nil || content.GetWatchSchema() == nil ||
		content.GetRead().GetObjects()[0].GetBackfill() == nil || content.GetRead().GetObjects()[0].GetDelivery() == nil {
		t.Errorf("the demo sample is not full: %v", content)
	}
	_, err = client.GetIntegration(context.Background(), connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "unknown"}))
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeNotFound {
		t.Fatalf("err = %v", err)
	}
	var problem *ampersandv1.Problem
	for _, d := range connectErr.Details() {
		if v, err := d.Value(); err == nil {
			if p, ok := v.(*ampersandv1.Problem); ok {
				problem = p
			}
		}
	}
	if problem == nil || !strings.Contains(problem.GetDetail(), "unknown") {
		t.Errorf("problem = %v", problem)
	}
}

// TestGracefulStop sends SIGTERM with a call in flight on each port: health
// turns NOT_SERVING while draining, both calls finish, the process exits 0
// and both listeners close.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1"}, "-grpc-addr", "127.0.0.1:0", "-drain-delay", "500ms")
	conn := dialGRPC(t, p.grpcAddr)
	clients := map[string]ampersandv1connect.IntegrationServiceClient{
		"main port": ampersandv1connect.NewIntegrationServiceClient(h2cClient(), "http://"+p.addr, connect.WithGRPC()),
		"gRPC port": ampersandv1connect.NewIntegrationServiceClient(h2cClient(), "http://"+p.grpcAddr, connect.WithGRPC()),
	}
	results := make(chan error, len(clients))
	for port, client := range clients {
		req := newRequest("my-project", "slow")
		if port == "gRPC port" {
			req.Header().Set("X-Api-Key", serverKey) // not the same call: not coalesced
		}
		go func() {
			_, err := client.GetIntegration(context.Background(), req)
			if err != nil {
				err = fmt.Errorf("%s: %w", port, err)
			}
			results <- err
		}()
	}
	for range clients {
		select {
		case <-up.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the calls did not reach the upstream")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, p, "draining")
	health, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: ampersandv1connect.IntegrationServiceName})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC port's health while draining = %v, %v", health, err)
	}
	for range clients {
		if err := <-results; err != nil {
			t.Errorf("call in flight failed: %v", err)
		}
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, p.stderr.String())
		}
		p.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit")
	}
	for _, addr := range []string{p.addr, p.grpcAddr} {
		if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			t.Errorf("%s still accepts connections", addr)
		}
	}
}

// TestTLS serves HTTPS: gRPC over TLS (HTTP/2 by ALPN) and Connect over
// HTTP/1.1, and the gRPC port over TLS with the same certificate (and not
// in cleartext).
func TestTLS(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	certFile, keyFile, pool := selfSigned(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "TLS_CERT_FILE=" + certFile, "GRPC_ADDR=127.0.0.1:0"}, "-tls-key", keyFile)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", clientKey)
	for _, addr := range []string{p.addr, p.grpcAddr} {
		conn := dialGRPC(t, addr, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "localhost")))
		resp := &ampersandv1.GetIntegrationResponse{}
		if err := conn.Invoke(ctx, "/ampersand.v1.IntegrationService/GetIntegration",
			&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}, resp); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		checkReadAccounts(t, resp)
	}
	plain := dialGRPC(t, p.grpcAddr)
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := ampersandv1.NewIntegrationServiceClient(plain).GetIntegration(short, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}); err == nil {
		t.Error("a cleartext call to the gRPC port succeeded")
	}

	http1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	client := ampersandv1connect.NewIntegrationServiceClient(http1, "https://"+p.addr)
	connectResp, err := client.GetIntegration(context.Background(), newRequest("my-project", "read-accounts"))
	if err != nil {
		t.Fatal(err)
	}
	checkReadAccounts(t, connectResp.Msg)
}

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestBadConfigurationStops checks that a bad value stops the server at
// start with a clear message and a non-zero exit.
func TestBadConfigurationStops(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"duration", nil, []string{"-upstream-timeout", "soon"}, "upstream-timeout"},
		{"duration env", []string{"UPSTREAM_TIMEOUT=-1s"}, nil, "UPSTREAM_TIMEOUT"},
		{"upstream URL", []string{"AMPERSAND_API_URL=api.withampersand.com"}, nil, "AMPERSAND_API_URL"},
		{"missing TLS file", nil, []string{"-tls-cert", "/nonexistent/cert.pem", "-tls-key", "/nonexistent/key.pem"}, "/nonexistent/cert.pem"},
		{"TLS half", nil, []string{"-tls-cert", "/nonexistent/cert.pem"}, "go together"},
		{"demo env", []string{"DEMO=maybe"}, nil, "DEMO"},
		{"unknown flag", nil, []string{"-nope"}, "nope"},
		{"gRPC address", []string{"GRPC_ADDR=9090"}, nil, "GRPC_ADDR"},
		{"any origin with the server's key", []string{"AMPERSAND_API_KEY=" + serverKey, "CORS_ORIGINS=*"}, nil, "-cors-allow-server-key"},
		{"gRPC address in use", nil, []string{"-addr", "127.0.0.1:0", "-grpc-addr", busy.Addr().String()}, "listen (gRPC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(serverBinary(t), tt.args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, tt.env...)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
				t.Fatalf("err = %v, want a non-zero exit\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output does not name %q:\n%s", tt.want, out)
			}
		})
	}
}

// TestCommandLine runs the binary as a user first does: -h and -version
// exit 0 on stdout; a bad flag prints the usage and exits 2 without
// starting (so without a "server stopped" line).
func TestCommandLine(t *testing.T) {
	t.Parallel()
	run := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(serverBinary(t), args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return out.String(), errOut.String(), exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), 0
	}

	stdout, stderr, code := run("-h")
	if code != 0 || !strings.HasPrefix(stdout, "ampersand-connect serves") || !strings.Contains(stdout, "AMPERSAND_API_KEY") ||
		!strings.Contains(stdout, "-upstream-timeout duration") || stderr != "" {
		t.Errorf("-h: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = run("-version")
	if code != 0 || !strings.HasPrefix(stdout, "ampersand-connect ") || strings.Count(stdout, "\n") != 1 || stderr != "" {
		t.Errorf("-version: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, args := range [][]string{{"-nope"}, {"-upstream-timeout", "soon"}, {"extra"}} {
		stdout, stderr, code = run(args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "ampersand-connect -h") && !strings.Contains(stderr, "Usage: ampersand-connect") ||
			strings.Contains(stderr, "server stopped") {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
}

// TestCORS sends preflights from an allowed and a refused origin, and a
// cross-origin call from the allowed one.
func TestCORS(t *testing.T) {
	t.Parallel()
	p := start(t, []string{"CORS_ORIGINS=https://app.example.com, https://other.example.com"}, "-demo")
	endpoint := "http://" + p.addr + "/ampersand.v1.IntegrationService/GetIntegration"
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, endpoint, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		// Browsers send the names sorted and in lower case.
		req.Header.Set("Access-Control-Request-Headers", "connect-protocol-version,content-type,x-api-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	allowed := preflight("https://app.example.com")
	if allowed.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(allowed.Header.Get("Access-Control-Allow-Headers")), "x-api-key") {
		t.Errorf("allowed preflight: %d %v", allowed.StatusCode, allowed.Header)
	}
	if refused := preflight("https://evil.example.com"); refused.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused preflight allowed: %v", refused.Header)
	}

	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"projectIdOrName":"my-project","integrationIdOrName":"nope"}`))
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("cross-origin call: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestCacheFlag: with -cache-ttl, identical calls are answered once by the
// upstream, over any protocol; other credentials are not.
func TestCacheFlag(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "CACHE_TTL=1m"}, "-cache-mib", "8")
	baseURL := "http://" + p.addr
	for _, client := range []ampersandv1connect.IntegrationServiceClient{
		ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL),
		ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL, connect.WithProtoJSON()),
		ampersandv1connect.NewIntegrationServiceClient(h2cClient(), baseURL, connect.WithGRPC()),
	} {
		resp, err := client.GetIntegration(context.Background(), newRequest("my-project", "read-accounts"))
		if err != nil {
			t.Fatal(err)
		}
		checkReadAccounts(t, resp.Msg)
	}
	other := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"})
	other.Header().Set("X-Api-Key", "another-key")
	if _, err := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, baseURL).GetIntegration(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.headers) != 2 {
		t.Errorf("%d upstream requests, want 2 (one per credential)", len(up.headers))
	}
}
