package service

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/translate"
)

// Package is the proto package whose services the service serves.
const Package = "ampersand.v1"

// serviceOps is one service of the schema and its operations.
type serviceOps struct {
	desc protoreflect.ServiceDescriptor
	ops  []*operation
}

// operation is what the service knows of one RPC, read once from its
// descriptor: its REST binding, and whether its calls may be shared
// (coalesced, memoized and cached: GET) and retried (GET, PUT, DELETE).
type operation struct {
	procedure string // "/ampersand.v1.IntegrationService/GetIntegration"
	method    *translate.Method
	input     protoreflect.MessageType
	output    protoreflect.MessageType
	shared    bool
	retry     bool
}

// schemaServices reads every service of [Package], sorted by name. The
// schema is generated and checked by tests: a method it cannot bind is a
// programming error.
func schemaServices() []*serviceOps {
	// Linked in for its descriptors.
	_ = ampersandv1.File_ampersand_v1_integration_service_proto
	var out []*serviceOps
	protoregistry.GlobalFiles.RangeFilesByPackage(Package, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			svc := &serviceOps{desc: sd}
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				method, err := translate.NewMethod(md)
				if err != nil {
					panic(fmt.Sprintf("service: %v", err))
				}
				input, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				if err != nil {
					panic(fmt.Sprintf("service: %s: %v", md.FullName(), err))
				}
				output, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
				if err != nil {
					panic(fmt.Sprintf("service: %s: %v", md.FullName(), err))
				}
				svc.ops = append(svc.ops, &operation{
					procedure: "/" + string(sd.FullName()) + "/" + string(md.Name()),
					method:    method,
					input:     input,
					output:    output,
					shared:    method.Verb() == http.MethodGet,
					retry:     method.Verb() == http.MethodGet || method.Verb() == http.MethodPut || method.Verb() == http.MethodDelete,
				})
			}
			out = append(out, svc)
		}
		return true
	})
	slices.SortFunc(out, func(a, b *serviceOps) int {
		return strings.Compare(string(a.desc.FullName()), string(b.desc.FullName()))
	})
	return out
}

// ServiceNames returns the full names of every service, sorted: for
// reflection and health.
func (s *Service) ServiceNames() []string {
	names := make([]string, len(s.services))
	for i, svc := range s.services {
		names[i] = string(svc.desc.FullName())
	}
	return names
}

// Handler is the Connect handler of one service, and the path prefix it
// serves ("/ampersand.v1.IntegrationService/").
type Handler struct {
	Path    string
	Handler http.Handler
}

// Handlers returns the Connect handlers of every service, which serve
// Connect, gRPC and gRPC-Web, with opts and the options the service needs
// (its codecs, the methods' schemas and idempotency). An unknown method of
// a service gets a plain 404, as connect-go's generated handlers answer.
func (s *Service) Handlers(opts ...connect.HandlerOption) []Handler {
	out := make([]Handler, 0, len(s.services))
	for _, svc := range s.services {
		procedures := map[string]http.Handler{}
		for _, op := range svc.ops {
			procedures[op.procedure] = s.connectHandler(op, opts)
		}
		out = append(out, Handler{
			Path: "/" + string(svc.desc.FullName()) + "/",
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if h, ok := procedures[r.URL.Path]; ok {
					h.ServeHTTP(w, r)
					return
				}
				http.NotFound(w, r)
			}),
		})
	}
	return out
}

// connectHandler is the Connect handler of one operation. connect-go's
// handlers are generic over the request and response types; every
// operation uses [codec.Message], which the request initializer fills with
// a new message of the method's input type.
func (s *Service) connectHandler(op *operation, opts []connect.HandlerOption) http.Handler {
	idempotency := connect.IdempotencyUnknown
	switch op.method.Verb() {
	case http.MethodGet:
		idempotency = connect.IdempotencyNoSideEffects
	case http.MethodPut, http.MethodDelete:
		idempotency = connect.IdempotencyIdempotent
	}
	input := op.input
	all := append(append(s.HandlerOptions(), opts...),
		connect.WithSchema(op.method.Descriptor()),
		connect.WithIdempotency(idempotency),
		connect.WithRequestInitializer(func(_ connect.Spec, msg any) error {
			if m, ok := msg.(*codec.Message); ok && m.Message == nil {
				m.Message = input.New().Interface()
			}
			return nil
		}),
	)
	return connect.NewUnaryHandler(op.procedure, func(ctx context.Context, req *connect.Request[codec.Message]) (*connect.Response[codec.Message], error) {
		creds := rest.Credentials{
			APIKey:        req.Header().Get("X-Api-Key"),
			Authorization: req.Header().Get("Authorization"),
		}
		get := req.HTTPMethod() == http.MethodGet
		form := answerMessage
		if !get {
			form = answerIn(req.Peer(), req.Header())
		}
		resp, err := s.call(ctx, op, req.Msg.Message, creds, form)
		if err != nil {
			return nil, err
		}
		if get {
			// A GET's ETag hashes the bytes sent: they must depend on the
			// message alone, as the planned encoder's do, and not on the
			// order of the upstream's JSON, as a transcoded response's do.
			if resp, err = resp.Decoded(); err != nil {
				return nil, connect.NewError(connect.CodeInternal, err)
			}
		}
		return connect.NewResponse(resp), nil
	}, all...)
}

// Mount mounts the Connect handlers of every service on mux (see
// [Service.Handlers]).
func (s *Service) Mount(mux *http.ServeMux, opts ...connect.HandlerOption) {
	for _, h := range s.Handlers(opts...) {
		mux.Handle(h.Path, h.Handler)
	}
}

// operation returns the operation of a procedure, or nil.
func (s *Service) operation(procedure string) *operation {
	for _, svc := range s.services {
		for _, op := range svc.ops {
			if op.procedure == procedure {
				return op
			}
		}
	}
	return nil
}

// answerIn is the encoding a Connect handler's response is sent in: the
// request's, named by the query of a Connect GET and by the content type
// of every other request ("application/proto", "application/grpc+json").
// (A GET's answer is not transcoded: see connectHandler.)
func answerIn(peer connect.Peer, header http.Header) answer {
	json := strings.Contains(header.Get("Content-Type"), "json")
	if encoding := peer.Query.Get("encoding"); encoding != "" {
		json = encoding != "proto"
	}
	if json {
		return answerJSON
	}
	return answerProto
}
