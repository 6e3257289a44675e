package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"connectrpc.com/connect"
	"google.golang.org/grpc"

	"github.com/ampersand-connect/gateway/internal/service"
)

// A panic in a handler, on either listener, fails its call alone with
// internal and an ErrorInfo, and is logged as an ERROR with its stack. The
// process goes on serving.

// logPanic logs a recovered panic of procedure with the stack that led to
// it (called from a deferred recover, the stack still holds its frames).
func logPanic(ctx context.Context, logger *slog.Logger, procedure string, value any) {
	logger.ErrorContext(ctx, "panic", "procedure", procedure, "panic", fmt.Sprint(value), "stack", string(debug.Stack()))
}

// recoverConnect is the main listener's handler option that recovers a
// handler's panic (interceptors included, the observing one excepted: it
// is outside and sees the call fail with internal).
func recoverConnect(logger *slog.Logger) connect.HandlerOption {
	return connect.WithRecover(func(ctx context.Context, spec connect.Spec, _ http.Header, value any) error {
		logPanic(ctx, logger, spec.Procedure, value)
		return service.InternalError()
	})
}

// withRecovery logs a panic that escapes the handlers (in the code around
// them) as an ERROR with its stack, then lets net/http end the request as
// it does for any panic, without logging it again.
func withRecovery(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if value := recover(); value != nil {
				if value != http.ErrAbortHandler { //nolint:errorlint // net/http compares it with ==
					logPanic(r.Context(), logger, r.URL.Path, value)
				}
				panic(http.ErrAbortHandler)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// recoverUnary recovers a panic of a unary handler of the gRPC listener.
func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if value := recover(); value != nil {
				logPanic(ctx, logger, info.FullMethod, value)
				resp, err = nil, service.GRPCError(service.InternalError())
			}
		}()
		return handler(ctx, req)
	}
}

// recoverStream recovers a panic of a streaming handler of the gRPC
// listener (reflection, health's Watch).
func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if value := recover(); value != nil {
				logPanic(stream.Context(), logger, info.FullMethod, value)
				err = service.GRPCError(service.InternalError())
			}
		}()
		return handler(srv, stream)
	}
}
