package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
)

// panickingUpstream panics in the middle of a call of the service.
type panickingUpstream struct{}

func (panickingUpstream) Do(context.Context, rest.Credentials, rest.Call) (rest.Body, error) {
	panic("the upstream client broke")
}

// panickingChecker panics in a health check.
type panickingChecker struct{}

func (panickingChecker) Check(context.Context, *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	panic("the health checker broke")
}

// registerPanics registers test.Panic on a gRPC server: a unary and a
// streaming method that panic, as a broken reflection or health would.
func registerPanics(srv *grpc.Server) {
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Panic",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Unary",
			Handler: func(_ any, ctx context.Context, _ func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				info := &grpc.UnaryServerInfo{FullMethod: "/test.Panic/Unary"}
				return interceptor(ctx, nil, info, func(context.Context, any) (any, error) { panic("a unary handler broke") })
			},
		}},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Stream",
			Handler:       func(any, grpc.ServerStream) error { panic("a streaming handler broke") },
			ServerStreams: true,
			ClientStreams: true,
		}},
	}, struct{}{})
}

// TestPanicsAreRecovered has handlers panic on both listeners: the
// service's (its upstream client), health's, and a unary and a streaming
// handler of their own. Each call fails with internal and an ErrorInfo,
// each panic is logged as an ERROR with its stack, and both listeners go on
// serving.
func TestPanicsAreRecovered(t *testing.T) {
	t.Parallel()
	svc := service.New(panickingUpstream{}, service.WithAPIKey("k"))
	p := startPorts(t, svc, panickingChecker{}, registerPanics)
	ctx := context.Background()
	req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"})

	wantInternal := func(name string, err error) {
		t.Helper()
		var connectErr *connect.Error
		if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeInternal || connectErr.Message() != "internal error" {
			t.Errorf("%s: err = %v, want internal", name, err)
			return
		}
		for _, d := range connectErr.Details() {
			if info, err := d.Value(); err == nil {
				if info, ok := info.(*errdetails.ErrorInfo); ok && info.GetReason() == "INTERNAL" {
					return
				}
			}
		}
		t.Errorf("%s: no ErrorInfo", name)
	}
	for name, client := range map[string]ampersandv1connect.IntegrationServiceClient{
		"main port, Connect":  ampersandv1connect.NewIntegrationServiceClient(h2cClient(), p.main),
		"main port, gRPC":     ampersandv1connect.NewIntegrationServiceClient(h2cClient(), p.main, connect.WithGRPC()),
		"main port, gRPC-Web": ampersandv1connect.NewIntegrationServiceClient(h2cClient(), p.main, connect.WithGRPCWeb()),
		"gRPC port":           ampersandv1connect.NewIntegrationServiceClient(h2cClient(), p.grpc, connect.WithGRPC()),
	} {
		_, err := client.GetIntegration(ctx, req)
		wantInternal(name, err)
	}
	_, err := grpchealth.NewClient(h2cClient(), p.main, connect.WithGRPC()).Check(ctx, &grpchealth.CheckRequest{})
	wantInternal("main port, health", err)

	// A streaming handler of the main listener, with its options.
	procedure := "/test.Panic/Stream"
	mux := http.NewServeMux()
	mux.Handle(procedure, connect.NewBidiStreamHandler(procedure, func(context.Context, *connect.BidiStream[emptypb.Empty, emptypb.Empty]) error {
		panic("a streaming handler broke")
	}, handlerOptions(discardLogger())...))
	streaming := httptest.NewUnstartedServer(mux)
	streaming.EnableHTTP2 = true
	streaming.StartTLS()
	t.Cleanup(streaming.Close)
	stream := connect.NewClient[emptypb.Empty, emptypb.Empty](streaming.Client(), streaming.URL+procedure, connect.WithGRPC()).CallBidiStream(ctx)
	_ = stream.Send(&emptypb.Empty{})
	_, err = stream.Receive()
	wantInternal("main port, streaming", err)

	conn, err := grpc.NewClient(strings.TrimPrefix(p.grpc, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Invoke(ctx, "/test.Panic/Unary", &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Internal {
		t.Errorf("gRPC port, unary: %v", err)
	}
	grpcStream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/test.Panic/Stream")
	if err != nil {
		t.Fatal(err)
	}
	if err := grpcStream.RecvMsg(&emptypb.Empty{}); status.Code(err) != codes.Internal {
		t.Errorf("gRPC port, streaming: %v", err)
	}

	// Still serving, and every panic logged with its stack.
	if resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC port's health after the panics: %v %v", resp, err)
	}
	logs := p.logs.String()
	for _, want := range []string{"the upstream client broke", "the health checker broke", "a unary handler broke", "a streaming handler broke"} {
		if !strings.Contains(logs, `"level":"ERROR","msg":"panic"`) || !strings.Contains(logs, want) {
			t.Errorf("no panic logged for %q", want)
		}
	}
	if strings.Count(logs, `"msg":"panic"`) != 7 || !strings.Contains(logs, `"stack":"goroutine`) {
		t.Errorf("want 7 panics logged with their stacks:\n%s", logs)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
