package service

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/codec"
)

func init() {
	for _, c := range codec.GRPC() {
		encoding.RegisterCodecV2(c)
	}
}

// serveGRPC serves svc on grpc-go's transport, cleartext, and returns its
// URL.
func serveGRPC(t testing.TB, svc *Service, opts ...grpc.ServerOption) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.UnknownServiceHandler(UnknownGRPCMethod)}, opts...)...)
	svc.RegisterGRPC(srv)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return "http://" + ln.Addr().String()
}

func h2cClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}

// rawCodec sends and receives a message's bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// grpcConn is a grpc-go client of the server at url.
func grpcConn(t *testing.T, url string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(strings.TrimPrefix(url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// statusErrorInfo returns the ErrorInfo details of a gRPC error.
func statusErrorInfo(t *testing.T, err error) []*errdetails.ErrorInfo {
	t.Helper()
	st, ok := grpcstatus.FromError(err)
	if !ok {
		t.Fatalf("%v is not a gRPC status error", err)
	}
	var infos []*errdetails.ErrorInfo
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			infos = append(infos, info)
		}
	}
	return infos
}

// TestGRPCTransportErrors holds the errors made before the service's own
// code runs to what the Connect handler answers: the same code, and an
// ErrorInfo. Each call of the service's method is seen by the interceptor.
func TestGRPCTransportErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, serveFile("../translate/testdata/integrations/minimal.json"), WithAPIKey("k"))
	var mu sync.Mutex // the interceptor runs on the server's goroutines
	var seen []any
	interceptor := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		mu.Lock()
		seen = append(seen, req)
		mu.Unlock()
		if info.FullMethod != "/ampersand.v1.IntegrationService/GetIntegration" {
			t.Errorf("FullMethod = %q", info.FullMethod)
		}
		return handler(ctx, req)
	}
	conn := grpcConn(t, serveGRPC(t, f.service, grpc.MaxRecvMsgSize(64<<10), grpc.UnaryInterceptor(interceptor)))
	const method = "/ampersand.v1.IntegrationService/GetIntegration"
	tests := []struct {
		name    string
		method  string
		request []byte
		code    codes.Code
		// grpc-go answers an oversized message itself, before any code of
		// the service runs: with no ErrorInfo.
		noInfo bool
	}{
		{"malformed", method, []byte{0xff, 0xff, 0xff}, codes.InvalidArgument, false},
		{"oversized", method, bytes.Repeat([]byte{'x'}, 100<<10), codes.ResourceExhausted, true},
		{"unknown method", "/ampersand.v1.IntegrationService/Nope", nil, codes.Unimplemented, false},
		{"unknown service", "/nope.v1.Nope/Nope", nil, codes.Unimplemented, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answer []byte
			err := conn.Invoke(context.Background(), tt.method, &tt.request, &answer, grpc.ForceCodec(rawCodec{}))
			if grpcstatus.Code(err) != tt.code {
				t.Fatalf("err = %v, want code %v", err, tt.code)
			}
			infos := statusErrorInfo(t, err)
			if tt.noInfo {
				if len(infos) != 0 {
					t.Errorf("ErrorInfo = %v, want none", infos)
				}
				return
			}
			if len(infos) != 1 || infos[0].GetReason() != ReasonInvalidRequest || infos[0].GetDomain() != ErrorDomain {
				t.Errorf("ErrorInfo = %v, want one with reason %s", infos, ReasonInvalidRequest)
			}
		})
	}
	// The two calls of the service's method that could not be decoded
	// reached the interceptor, with no request, and so did the client's
	// code.
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != nil || seen[1] != nil {
		t.Errorf("the interceptor saw %v, want two nil requests", seen)
	}
	if len(f.upstream.Calls()) != 0 {
		t.Error("the upstream was called")
	}
}

// TestGRPCInterceptorSeesCalls checks that a decoded call goes through the
// interceptor with its request, its metadata and the service's answer.
func TestGRPCInterceptorSeesCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t, serveFile("../translate/testdata/integrations/minimal.json"))
	var mu sync.Mutex // the interceptor runs on the server's goroutines
	var req any
	var callErr error
	interceptor := func(ctx context.Context, r any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, r)
		mu.Lock()
		req, callErr = r, err
		mu.Unlock()
		return resp, err
	}
	seen := func() (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return req, callErr
	}
	conn := grpcConn(t, serveGRPC(t, f.service, grpc.UnaryInterceptor(interceptor)))
	client := ampersandv1.NewIntegrationServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", "k1", "authorization", "Bearer j1")
	if _, err := client.GetIntegration(ctx, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := seen(); !isRequestFor(r, "p") {
		t.Errorf("the interceptor saw %v", r)
	}
	if calls := f.upstream.Calls(); len(calls) != 1 || calls[0].apiKey != "k1" || calls[0].authorization != "Bearer j1" {
		t.Errorf("upstream calls = %+v", calls)
	}

	_, err := client.GetIntegration(context.Background(), &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"})
	if _, interceptorErr := seen(); grpcstatus.Code(err) != codes.Unauthenticated || grpcstatus.Code(interceptorErr) != codes.Unauthenticated {
		t.Errorf("err = %v, the interceptor's = %v; want unauthenticated", err, interceptorErr)
	}
}

func isRequestFor(r any, project string) bool {
	msg, ok := r.(*ampersandv1.GetIntegrationRequest)
	return ok && msg.GetProjectIdOrName() == project
}

func TestGRPCError(t *testing.T) {
	t.Parallel()
	if GRPCError(nil) != nil {
		t.Error("GRPCError(nil) is not nil")
	}
	withDetails := newError(connect.CodeNotFound, "NOT_FOUND", "upstream answered 404", map[string]string{"httpStatus": "404"})
	help, err := connect.NewErrorDetail(&errdetails.Help{Links: []*errdetails.Help_Link{{Url: "https://example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	withDetails.AddDetail(help)
	tests := []struct {
		name   string
		err    error
		code   codes.Code
		msg    string
		reason string
		types  []string
	}{
		{"details kept in order", withDetails, codes.NotFound, "upstream answered 404", "NOT_FOUND", []string{"google.rpc.ErrorInfo", "google.rpc.Help"}},
		{"ErrorInfo added", connect.NewError(connect.CodeDeadlineExceeded, errors.New("late")), codes.DeadlineExceeded, "late", ReasonUpstreamTimeout, []string{"google.rpc.ErrorInfo"}},
		{"wrapped", errors.Join(errors.New("context"), connect.NewError(connect.CodeAborted, errors.New("x"))), codes.Aborted, "x", ReasonInternal, []string{"google.rpc.ErrorInfo"}},
		{"not a Connect error", errors.New("boom"), codes.Unknown, "boom", ReasonInternal, []string{"google.rpc.ErrorInfo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := grpcstatus.Convert(GRPCError(tt.err))
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("status = %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			var types []string
			for _, d := range st.Proto().GetDetails() {
				types = append(types, strings.TrimPrefix(d.GetTypeUrl(), "type.googleapis.com/"))
			}
			if strings.Join(types, ",") != strings.Join(tt.types, ",") {
				t.Errorf("details = %v, want %v", types, tt.types)
			}
			if infos := statusErrorInfo(t, GRPCError(tt.err)); len(infos) != 1 || infos[0].GetReason() != tt.reason {
				t.Errorf("ErrorInfo = %v, want reason %s", infos, tt.reason)
			}
			back := ConnectErrorFromGRPC(GRPCError(tt.err))
			if connect.CodeOf(back) != connect.Code(tt.code) {
				t.Errorf("ConnectErrorFromGRPC's code = %v", connect.CodeOf(back))
			}
		})
	}
	if ConnectErrorFromGRPC(nil) != nil {
		t.Error("ConnectErrorFromGRPC(nil) is not nil")
	}
}
