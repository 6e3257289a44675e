package main

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/proto"

	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
)

func init() {
	// The proto and JSON codecs of the gRPC listener share the encoding of a
	// cached response among its calls. Codecs are registered by name, for
	// the process: its one gRPC client, the OTLP exporter's when spans are
	// exported over gRPC, encodes with them too (any other message is
	// encoded as grpc-go's own codecs do).
	for _, c := range codec.GRPC() {
		encoding.RegisterCodecV2(c)
	}
	// As on the main listener: gzip's fastest level (a valid level:
	// never fails).
	_ = grpcgzip.SetLevel(gzip.BestSpeed)
}

// grpcLogWriter passes grpc-go's warnings and errors, one line per write,
// to the server's JSON log.
type grpcLogWriter struct{ logger *slog.Logger }

func (w grpcLogWriter) Write(p []byte) (int, error) {
	w.logger.Warn("grpc-go", "log", strings.TrimSpace(string(p)))
	return len(p), nil
}

// newGRPCServer returns the server of the -grpc-addr listener: the service,
// gRPC reflection (v1 and v1alpha) and gRPC health, on grpc-go's HTTP/2
// transport, with the main listener's limits, and its log line and metrics
// for each call of the service, in the trace context the caller sent in
// propagator's metadata; extra options (the tracing's stats handler) come
// last.
func newGRPCServer(svc *service.Service, logger *slog.Logger, m *metrics, tlsConfig *tls.Config, propagator propagation.TextMapPropagator, extra ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRequestBytes),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.ConnectionTimeout(readHeaderTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idleTimeout}),
		// grpc-go's default closes the connection of a client that pings
		// more often than every 5 minutes (too_many_pings), which clients
		// behind load balancers commonly do. net/http, on the main port,
		// takes any ping; here, every 5 s at most, with or without calls in
		// flight: half the shortest interval grpc-go's client can be set
		// to (10 s), so that jitter never makes one of its pings early.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		// The observer is outside the recovery, so that it sees a call
		// whose handler panicked fail with internal.
		grpc.ChainUnaryInterceptor(observingGRPCInterceptor(logger, m, propagator), recoverUnary(logger), checkTimeoutUnary, compressingGRPCInterceptor(compressMinBytes)),
		grpc.ChainStreamInterceptor(recoverStream(logger), checkTimeoutStream),
		grpc.UnknownServiceHandler(service.UnknownGRPCMethod),
	}
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	// A bad grpc-timeout gets invalid_argument, as on the main listener
	// (see timeoutCheckingCreds).
	opts = append(opts, grpc.Creds(timeoutCheckingCreds{creds}))
	srv := grpc.NewServer(append(opts, extra...)...)
	svc.RegisterGRPC(srv)
	checker := health.NewServer()
	for _, name := range svc.ServiceNames() {
		checker.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	healthpb.RegisterHealthServer(srv, checker)
	reflection.Register(srv)
	return srv, checker
}

// logGRPCTo sends grpc-go's own warnings and errors to logger, so that the
// server's log stays one JSON object a line. Call it before any gRPC work.
func logGRPCTo(logger *slog.Logger) {
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, grpcLogWriter{logger}, io.Discard))
}

// observingGRPCInterceptor gives each call of the service on the gRPC
// listener the log line and the count it gets on the main listener, and
// the trace context the caller sent, as there. Calls of health and
// reflection pass unobserved, as they do there.
func observingGRPCInterceptor(logger *slog.Logger, m *metrics, propagator propagation.TextMapPropagator) grpc.UnaryServerInterceptor {
	prefix := "/" + service.Package + "."
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, prefix) {
			return handler(ctx, req)
		}
		ctx = withCallerTrace(ctx, propagator, incomingMetadata{ctx})
		start := time.Now()
		trace := &rest.Trace{}
		resp, err := handler(rest.WithTrace(ctx, trace), req)
		observeCall(ctx, logger, m, info.FullMethod, "grpc", service.ConnectErrorFromGRPC(err), time.Since(start), trace)
		return resp, err
	}
}

// compressingGRPCInterceptor compresses a response with gzip when it is at
// least minBytes long and the client accepts gzip, and never otherwise: the
// main listener's policy. (grpc-go's own is to answer in the request's
// compression, whatever the size.)
func compressingGRPCInterceptor(minBytes int) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, err
		}
		compressor := encoding.Identity
		if msg, ok := resp.(proto.Message); ok && acceptsGzip(ctx) && codec.EncodedSize(msg) >= minBytes {
			compressor = grpcgzip.Name
		}
		_ = grpc.SetSendCompressor(ctx, compressor) // both are registered, and accepted
		return resp, nil
	}
}

func acceptsGzip(ctx context.Context) bool {
	accepted, _ := grpc.ClientSupportedCompressors(ctx)
	return slices.Contains(accepted, grpcgzip.Name)
}

// stopGRPC stops srv gracefully, finishing the calls in flight, or at
// once when ctx ends first.
func stopGRPC(ctx context.Context, srv *grpc.Server) {
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		srv.Stop()
		<-done
	}
}
