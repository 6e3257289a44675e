package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	binaryorder "encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/demo"
)

func dialGRPC(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestGRPCListener drives the -grpc-addr listener with real clients: the
// generated grpc-go client, connect-go's gRPC client, grpcurl and buf curl
// through reflection, and gRPC health; and checks its log lines and
// metrics.
func TestGRPCListener(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "ADMIN_ADDR=127.0.0.1:0", "AMPERSAND_API_KEY=" + serverKey}, "-grpc-addr", "127.0.0.1:0")
	conn := dialGRPC(t, p.grpcAddr)
	client := ampersandv1.NewIntegrationServiceClient(conn)
	readAccounts := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}

	t.Run("grpc-go", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", clientKey)
		resp, err := client.GetIntegration(ctx, readAccounts)
		if err != nil {
			t.Fatal(err)
		}
		checkReadAccounts(t, resp)
		if h := up.lastHeader(); h.Get("X-Api-Key") != clientKey || h.Get("Authorization") != "" {
			t.Errorf("upstream got x-api-key %q, authorization %q", h.Get("X-Api-Key"), h.Get("Authorization"))
		}
		// No credentials: the operator's key.
		if _, err := client.GetIntegration(context.Background(), readAccounts); err != nil {
			t.Fatal(err)
		}
		if h := up.lastHeader(); h.Get("X-Api-Key") != serverKey {
			t.Errorf("upstream got x-api-key %q, want the server's", h.Get("X-Api-Key"))
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := client.GetIntegration(context.Background(), &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "nope"})
		st := status.Convert(err)
		if st.Code() != codes.NotFound || !strings.Contains(st.Message(), "integration not found") {
			t.Fatalf("err = %v", err)
		}
		var info *errdetails.ErrorInfo
		var problem *ampersandv1.Problem
		var badRequest *errdetails.BadRequest
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				info = d
			case *ampersandv1.Problem:
				problem = d
			case *errdetails.BadRequest:
				badRequest = d
			}
		}
		if info.GetReason() != "NOT_FOUND" || info.GetMetadata()["requestId"] != "req-42" {
			t.Errorf("ErrorInfo = %v", info)
		}
		if problem.GetRequestId() != "req-42" || len(problem.GetIssues()) != 1 {
			t.Errorf("Problem = %v", problem)
		}
		if len(badRequest.GetFieldViolations()) != 1 {
			t.Errorf("BadRequest = %v", badRequest)
		}

		_, err = client.GetIntegration(context.Background(), &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "..", IntegrationIdOrName: "x"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("err = %v, want invalid_argument", err)
		}

		// A deadline the upstream cannot meet.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = client.GetIntegration(ctx, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "slow"})
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("err = %v, want deadline_exceeded", err)
		}
	})

	t.Run("connect-go", func(t *testing.T) {
		// connect-go's gRPC client, and its error details.
		client := ampersandv1connect.NewIntegrationServiceClient(h2cClient(), "http://"+p.grpcAddr, connect.WithGRPC())
		resp, err := client.GetIntegration(context.Background(), newRequest("my-project", "read-accounts"))
		if err != nil {
			t.Fatal(err)
		}
		checkReadAccounts(t, resp.Msg)
		_, err = client.GetIntegration(context.Background(), newRequest("my-project", "nope"))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("err = %v", err)
		}
		if d := detailsOf(t, err.(*connect.Error)); d.info == nil || d.problem == nil {
			t.Errorf("details: %+v", d)
		}
		// JSON, as application/grpc+json.
		jsonClient := ampersandv1connect.NewIntegrationServiceClient(h2cClient(), "http://"+p.grpcAddr, connect.WithGRPC(), connect.WithProtoJSON())
		resp, err = jsonClient.GetIntegration(context.Background(), newRequest("my-project", "read-accounts"))
		if err != nil {
			t.Fatal(err)
		}
		checkReadAccounts(t, resp.Msg)
	})

	t.Run("health", func(t *testing.T) {
		health := healthpb.NewHealthClient(conn)
		for _, service := range []string{"", ampersandv1connect.IntegrationServiceName} {
			resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health of %q = %v, %v", service, resp, err)
			}
		}
	})

	t.Run("reflection", func(t *testing.T) {
		out, code := grpcurl(t, "-plaintext", p.grpcAddr, "list")
		if code != 0 || !strings.Contains(out, "ampersand.v1.IntegrationService") || !strings.Contains(out, "grpc.health.v1.Health") {
			t.Errorf("grpcurl list: exit %d\n%s", code, out)
		}
		stdout, stderr, code := bufCurl(t, "--protocol", "grpc", "--http2-prior-knowledge",
			"-H", "X-Api-Key: "+clientKey,
			"-d", `{"project_id_or_name":"my-project","integration_id_or_name":"read-accounts"}`,
			"http://"+p.grpcAddr+"/ampersand.v1.IntegrationService/GetIntegration")
		if code != 0 || !strings.Contains(stdout, `"name": "read-accounts"`) {
			t.Errorf("buf curl: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})

	t.Run("observed", func(t *testing.T) {
		logs := waitForLog(t, p, `"code":"not_found"`)
		for _, want := range []string{`"protocol":"grpc","code":"ok"`, `"upstreamRequestId":"req-42"`, `"code":"invalid_argument"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s", want)
			}
		}
		resp, err := http.Get("http://" + p.adminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `ampersand_connect_calls_total{code="not_found",procedure="/ampersand.v1.IntegrationService/GetIntegration",protocol="grpc"}`) {
			t.Error("metrics lack the gRPC listener's calls")
		}
	})

	// The main listener serves every protocol still.
	main := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+p.addr)
	if _, err := main.GetIntegration(context.Background(), newRequest("my-project", "read-accounts")); err != nil {
		t.Errorf("main listener: %v", err)
	}
}

// TestGRPCListenerCompression checks the gRPC port's compression policy,
// the main listener's: gzip for an answer of 16 KiB or more when the client
// accepts it, and never for a smaller one, even to a client that compressed
// its request.
func TestGRPCListenerCompression(t *testing.T) {
	t.Parallel()
	large := demo.Sized(100_000)
	small, err := os.ReadFile("../../internal/demo/integrations/read-accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/large") {
			_, _ = w.Write(large)
			return
		}
		_, _ = w.Write(small)
	}))
	t.Cleanup(up.Close)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1", "AMPERSAND_API_KEY=" + serverKey}, "-grpc-addr", "127.0.0.1:0")

	// call sends one gRPC request, gzipped or not, and returns the
	// answer's grpc-encoding and its message's compressed flag.
	call := func(t *testing.T, integration, acceptEncoding string, gzipRequest bool) (encoding string, compressed bool) {
		t.Helper()
		msg, _ := proto.Marshal(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: integration})
		flag := byte(0)
		if gzipRequest {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(msg)
			zw.Close()
			msg, flag = buf.Bytes(), 1
		}
		framed := append([]byte{flag, 0, 0, 0, 0}, msg...)
		binaryorder.BigEndian.PutUint32(framed[1:5], uint32(len(msg)))
		req, _ := http.NewRequest(http.MethodPost, "http://"+p.grpcAddr+"/ampersand.v1.IntegrationService/GetIntegration", bytes.NewReader(framed))
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		if acceptEncoding != "" {
			req.Header.Set("Grpc-Accept-Encoding", acceptEncoding)
		}
		if gzipRequest {
			req.Header.Set("Grpc-Encoding", "gzip")
		}
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Trailer.Get("Grpc-Status") != "0" || len(body) < 5 {
			t.Fatalf("grpc-status %q (%s), %d bytes", resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message"), len(body))
		}
		return resp.Header.Get("Grpc-Encoding"), body[0] == 1
	}
	tests := []struct {
		name           string
		integration    string
		acceptEncoding string
		gzipRequest    bool
		want           bool
	}{
		{"large, gzip accepted", "large", "gzip", false, true},
		{"large, gzip not accepted", "large", "", false, false},
		{"small, gzip accepted", "small", "gzip", false, false},
		{"small, request gzipped", "small", "gzip", true, false},
		{"large, request gzipped", "large", "gzip", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoding, compressed := call(t, tt.integration, tt.acceptEncoding, tt.gzipRequest)
			if compressed != tt.want || (encoding == "gzip") != tt.want {
				t.Errorf("grpc-encoding %q, compressed %v; want compressed %v", encoding, compressed, tt.want)
			}
		})
	}
}

// TestGRPCListenerKeepalive holds an idle connection whose client pings
// every 10 s, grpc-go's shortest keepalive, for 35 s: it stays up. With
// grpc-go's default policy the server closes it (too_many_pings) at the
// third early ping, about 30 s in.
func TestGRPCListenerKeepalive(t *testing.T) {
	if testing.Short() {
		t.Skip("35 s")
	}
	t.Parallel()
	up := newUpstream(t)
	p := start(t, []string{"AMPERSAND_API_URL=" + up.URL + "/v1"}, "-grpc-addr", "127.0.0.1:0")
	conn := dialGRPC(t, p.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		grpc.WithIdleTimeout(0), // the channel itself never idles
	)
	client := ampersandv1.NewIntegrationServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", clientKey)
	readAccounts := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}
	if _, err := client.GetIntegration(ctx, readAccounts); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(35 * time.Second)
	for time.Now().Before(deadline) {
		if state := conn.GetState(); state != connectivity.Ready {
			t.Fatalf("the connection went %v:\n%s", state, p.stderr.String())
		}
		wait, cancel := context.WithDeadline(context.Background(), deadline)
		conn.WaitForStateChange(wait, connectivity.Ready)
		cancel()
	}
	if _, err := client.GetIntegration(ctx, readAccounts); err != nil {
		t.Fatal(err)
	}
}
