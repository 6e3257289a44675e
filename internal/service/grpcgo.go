package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// This file serves the service on grpc-go's HTTP/2 transport too, for a
// listener that speaks only gRPC: it writes a response's frames in one go,
// where net/http's HTTP/2 server hands each one to its connection's
// goroutine. Calls behave as on the Connect handler: the same validation,
// credentials, cache and coalescing, and the same errors, details and all.

// RegisterGRPC registers every service on a grpc-go server. Every call goes
// through the server's unary interceptor, if it has one, even a call whose
// request could not be decoded: the interceptor then gets a nil request,
// and a handler that returns the decoding error.
//
// It panics unless the codecs of [codec.GRPC] are registered: they read
// the request so that the service can decode it, and share the encoding
// of a cached response.
func (s *Service) RegisterGRPC(r grpc.ServiceRegistrar) {
	if !codec.GRPCRegistered() {
		panic("service: RegisterGRPC needs the codecs of codec.GRPC registered")
	}
	for _, svc := range s.services {
		desc := grpc.ServiceDesc{
			ServiceName: string(svc.desc.FullName()),
			HandlerType: (*any)(nil),
			Metadata:    svc.desc.ParentFile().Path(),
		}
		for _, op := range svc.ops {
			desc.Methods = append(desc.Methods, grpc.MethodDesc{
				MethodName: string(op.method.Descriptor().Name()),
				Handler:    s.grpcHandler(op),
			})
		}
		r.RegisterService(&desc, s)
	}
}

// grpcHandler serves one operation on grpc-go's transport.
func (s *Service) grpcHandler(op *operation) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	info := &grpc.UnaryServerInfo{Server: s, FullMethod: op.procedure}
	return func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		var handler grpc.UnaryHandler
		var raw codec.GRPCRequest
		in := op.input.New().Interface()
		err := dec(&raw)
		if err == nil {
			if err = raw.Decode(in); err != nil {
				err = GRPCError(connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unmarshal request: %w", err)))
			}
		} else {
			// grpc-go has answered already (an oversized message, say):
			// the interceptor is told what the client got.
			err = GRPCError(err)
		}
		var req any // nil, not a nil message, when there is none
		if err != nil {
			handler = func(context.Context, any) (any, error) { return nil, err }
		} else {
			req = in
			handler = func(ctx context.Context, req any) (any, error) {
				msg, ok := req.(proto.Message)
				if !ok || msg.ProtoReflect().Descriptor() != op.input.Descriptor() {
					return nil, GRPCError(connect.NewError(connect.CodeInternal, errors.New("an interceptor changed the request's type")))
				}
				creds := rest.Credentials{
					APIKey:        firstValue(ctx, "x-api-key"),
					Authorization: firstValue(ctx, "authorization"),
				}
				form := answerJSON
				if raw.Binary() {
					form = answerProto
				}
				resp, err := s.call(ctx, op, msg, creds, form)
				if err != nil {
					return nil, GRPCError(err)
				}
				return resp, nil
			}
		}
		if interceptor == nil {
			return handler(ctx, req)
		}
		return interceptor(ctx, req, info, handler)
	}
}

// firstValue is the first value of the request's metadata key, as
// http.Header's Get gives it on the Connect handler.
func firstValue(ctx context.Context, key string) string {
	if values := metadata.ValueFromIncomingContext(ctx, key); len(values) > 0 {
		return values[0]
	}
	return ""
}

// GRPCError converts an error of the service into grpc-go's: the same code,
// message (made valid UTF-8, or grpc-go could not send the details) and
// details (with an ErrorInfo added when it has none, as every error carries
// one), so that a client finds on this transport what the Connect handler
// sends in grpc-status-details-bin.
func GRPCError(err error) error {
	if err == nil {
		return nil
	}
	connectErr := new(connect.Error)
	if !errors.As(err, &connectErr) {
		if st, ok := grpcstatus.FromError(err); ok {
			return st.Err() // grpc-go's own
		}
		connectErr = connect.NewError(connect.CodeOf(err), err)
	}
	st := &status.Status{Code: int32(connectErr.Code()), Message: validUTF8(connectErr.Message())}
	hasInfo := false
	for _, d := range connectErr.Details() {
		st.Details = append(st.Details, &anypb.Any{TypeUrl: typeURLPrefix + d.Type(), Value: d.Bytes()})
		hasInfo = hasInfo || d.Type() == errorInfoName
	}
	if !hasInfo {
		info, err := anypb.New(transportErrorInfo(connectErr.Code()))
		if err != nil {
			dropDetail(errorInfoName, err)
		} else {
			st.Details = append(st.Details, info)
		}
	}
	return grpcstatus.FromProto(st).Err()
}

const (
	typeURLPrefix = "type.googleapis.com/"
	errorInfoName = "google.rpc.ErrorInfo"
)

// UnknownGRPCMethod answers a call of a method the server does not have,
// with unimplemented and an ErrorInfo; pass it to grpc.UnknownServiceHandler.
func UnknownGRPCMethod(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.Method(stream.Context())
	return GRPCError(UnknownMethodError(method))
}

// UnknownMethodError is the error of a call of a procedure
// ("/package.Service/Method") the server does not have: unimplemented, with
// the ErrorInfo of the errors made before the service's code runs (reason
// INVALID_REQUEST, metadata origin: transport).
func UnknownMethodError(procedure string) *connect.Error {
	service, name, _ := strings.Cut(strings.TrimPrefix(procedure, "/"), "/")
	err := connect.NewError(connect.CodeUnimplemented, errors.New("unknown method "+name+" of service "+service))
	if detail, detailErr := connect.NewErrorDetail(transportErrorInfo(connect.CodeUnimplemented)); detailErr == nil {
		err.AddDetail(detail)
	}
	return err
}

// ConnectErrorFromGRPC is the *connect.Error with the code and message of
// a gRPC status error, for observers of both transports; nil for nil.
func ConnectErrorFromGRPC(err error) error {
	if err == nil {
		return nil
	}
	st, _ := grpcstatus.FromError(err)
	return connect.NewError(connect.Code(st.Code()), errors.New(st.Message()))
}
