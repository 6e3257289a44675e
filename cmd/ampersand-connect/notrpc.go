package main

import (
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/ampersand-connect/gateway/internal/service"
)

// The answers for requests that are not calls the server can serve: a
// method it does not have, and a Content-Type no protocol it speaks uses.

// rpcErrors writes the errors of calls that never reach a handler in the
// protocol of the request (Connect, gRPC or gRPC-Web), as connect-go does.
var rpcErrors = connect.NewErrorWriter()

// withKnownMethods serves the calls of the service mounted at path
// ("/package.Service/") with h, and answers a method the service does not
// have with unimplemented (see [service.UnknownMethodError]), where
// connect-go's generated handler would answer a plain-text 404. It also
// explains connect-go's empty 415 (see [explainUnsupportedMediaType]). A
// service not in the global registry of descriptors is served by h alone.
func withKnownMethods(path string, h http.Handler) http.Handler {
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.Trim(path, "/")))
	svc, ok := desc.(protoreflect.ServiceDescriptor)
	if err != nil || !ok {
		return h // a service whose methods are unknown here: connect-go's answers stand
	}
	known := map[string]bool{}
	for i := range svc.Methods().Len() {
		known[path+string(svc.Methods().Get(i).Name())] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !known[r.URL.Path] {
			_ = rpcErrors.Write(w, r, service.UnknownMethodError(r.URL.Path))
			return
		}
		if !isRPCContentType(r) {
			w = &mediaTypeExplainer{ResponseWriter: w, r: r}
		}
		h.ServeHTTP(w, r)
	})
}

// unknownRoute answers every path nothing else serves: a request that looks
// like a call ("/package.Service/Method", in a protocol connect-go
// recognises) gets unimplemented in its protocol, anything else a 404.
func unknownRoute(w http.ResponseWriter, r *http.Request) {
	if looksLikeCall(r) {
		_ = rpcErrors.Write(w, r, service.UnknownMethodError(r.URL.Path))
		return
	}
	http.NotFound(w, r)
}

// looksLikeCall reports whether r is a call of some procedure: its path is
// /{service}/{method} and it is a POST in a protocol's Content-Type, or a
// Connect GET (with the encoding and message query parameters).
func looksLikeCall(r *http.Request) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || service == "" || method == "" || strings.Contains(method, "/") {
		return false
	}
	switch r.Method {
	case http.MethodPost:
		return isRPCContentType(r)
	case http.MethodGet:
		query := r.URL.Query()
		return query.Has("encoding") && query.Has("message")
	default:
		return false
	}
}

// isRPCContentType reports whether r is a POST whose Content-Type is one of
// a protocol the server speaks: gRPC's, gRPC-Web's, or Connect's JSON or
// binary.
func isRPCContentType(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	mediaType, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	return strings.HasPrefix(mediaType, "application/grpc") || strings.HasPrefix(mediaType, "application/connect+") ||
		mediaType == "application/json" || mediaType == "application/proto"
}

// mediaTypeExplainer gives connect-go's 415 Unsupported Media Type, which
// has no body, one that says which types are accepted.
type mediaTypeExplainer struct {
	http.ResponseWriter
	r         *http.Request
	explained bool
}

func (e *mediaTypeExplainer) WriteHeader(code int) {
	if code != http.StatusUnsupportedMediaType || e.explained {
		e.ResponseWriter.WriteHeader(code)
		return
	}
	e.explained = true
	explainUnsupportedMediaType(e.ResponseWriter, e.r)
}

func (e *mediaTypeExplainer) Write(p []byte) (int, error) {
	if e.explained {
		return len(p), nil // connect-go writes no body; nothing to add to ours
	}
	return e.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (e *mediaTypeExplainer) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok && !e.explained {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (e *mediaTypeExplainer) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// explainUnsupportedMediaType writes a 415 whose plain-text body names the
// request's Content-Type and the ones each protocol accepts, as listed in
// the Accept-Post header connect-go set.
func explainUnsupportedMediaType(w http.ResponseWriter, r *http.Request) {
	accepted := map[string][]string{}
	for _, value := range strings.Split(w.Header().Get("Accept-Post"), ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(value))
		if err != nil {
			continue
		}
		protocol := "Connect"
		switch {
		case strings.HasPrefix(mediaType, "application/grpc-web"):
			protocol = "gRPC-Web"
		case strings.HasPrefix(mediaType, "application/grpc"):
			protocol = "gRPC"
		}
		if !slices.Contains(accepted[protocol], mediaType) {
			accepted[protocol] = append(accepted[protocol], mediaType)
		}
	}
	var b strings.Builder
	got := "no Content-Type"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		got = fmt.Sprintf("Content-Type %q", ct)
	}
	if r.Method == http.MethodGet {
		fmt.Fprintf(&b, "%s is called with POST, or with a Connect GET, which needs the query parameters encoding (json or proto) and message (the request, in that encoding).\n", r.URL.Path)
	} else {
		fmt.Fprintf(&b, "%s takes no request with %s.\n", r.URL.Path, got)
	}
	b.WriteString("A POST's Content-Type is one of:\n")
	for _, protocol := range []string{"Connect", "gRPC", "gRPC-Web"} {
		if types := accepted[protocol]; len(types) > 0 {
			fmt.Fprintf(&b, "  %-9s %s\n", protocol+":", strings.Join(types, ", "))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnsupportedMediaType)
	_, _ = w.Write([]byte(b.String()))
}
