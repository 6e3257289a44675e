package service

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// EnsureErrorInfo wraps the service's HTTP handler so that the errors
// connect-go makes itself, before the service's code runs (a malformed or
// oversized request, say), carry a google.rpc.ErrorInfo like every other
// error: in a Connect error body, and in gRPC's grpc-status-details-bin
// (trailers, or the headers of a trailers-only gRPC-Web answer). An error
// that has an ErrorInfo already passes untouched, and so does every
// success. (A gRPC-Web error after a message, whose trailers are in the
// body, is left as it is: the service's own errors come before any.)
//
// Interceptors never see those calls; observe, if not nil, is told of
// each, so that it too gets its log line and its count.
func EnsureErrorInfo(next http.Handler, observe TransportErrorFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		e := &errorInfoWriter{ResponseWriter: w}
		next.ServeHTTP(e, r)
		e.finish()
		if e.transportError != nil && observe != nil {
			observe(r, e.transportError, time.Since(start))
		}
	})
}

// A TransportErrorFunc is told of an error that connect-go made itself,
// as the client got it, and how long the call took.
type TransportErrorFunc func(r *http.Request, err *connect.Error, elapsed time.Duration)

type errorInfoWriter struct {
	http.ResponseWriter
	wroteHeader bool
	buffering   bool // a Connect error body, held back to be completed
	status      int
	body        bytes.Buffer
	// transportError is the error connect-go made, once an ErrorInfo has
	// been added to it.
	transportError *connect.Error
}

func (e *errorInfoWriter) WriteHeader(code int) {
	if e.wroteHeader {
		return
	}
	e.wroteHeader = true
	header := e.Header()
	if code != http.StatusOK && strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		e.buffering, e.status = true, code
		return
	}
	// A trailers-only answer's status is in its headers.
	e.noteTransportError(ensureGRPCErrorInfo(header, ""))
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorInfoWriter) Write(p []byte) (int, error) {
	if !e.wroteHeader {
		e.WriteHeader(http.StatusOK)
	}
	if e.buffering {
		return e.body.Write(p)
	}
	return e.ResponseWriter.Write(p)
}

// Flush implements http.Flusher, which gRPC needs.
func (e *errorInfoWriter) Flush() {
	if !e.wroteHeader {
		e.WriteHeader(http.StatusOK)
	}
	if e.buffering {
		return
	}
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (e *errorInfoWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

func (e *errorInfoWriter) finish() {
	e.noteTransportError(ensureGRPCErrorInfo(e.Header(), http.TrailerPrefix))
	if !e.buffering {
		return
	}
	body, made := withConnectErrorInfo(e.body.Bytes())
	e.noteTransportError(made)
	e.Header().Del("Content-Length")
	e.ResponseWriter.WriteHeader(e.status)
	_, _ = e.ResponseWriter.Write(body)
}

func (e *errorInfoWriter) noteTransportError(err *connect.Error) {
	if err != nil {
		e.transportError = err
	}
}

// transportErrorInfo is the ErrorInfo of an error connect-go made.
func transportErrorInfo(code connect.Code) *errdetails.ErrorInfo {
	reason := ReasonInvalidRequest
	switch code {
	case connect.CodeInvalidArgument, connect.CodeResourceExhausted, connect.CodeUnimplemented,
		connect.CodeFailedPrecondition, connect.CodeOutOfRange:
	case connect.CodeCanceled:
		reason = ReasonCanceled
	case connect.CodeDeadlineExceeded:
		reason = ReasonUpstreamTimeout
	default:
		reason = ReasonInternal
	}
	return &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: map[string]string{"origin": "transport"}}
}

// withConnectErrorInfo adds an ErrorInfo to a Connect error body that has
// none, and returns the error it holds; any other body is returned as it
// is, with a nil error.
func withConnectErrorInfo(body []byte) ([]byte, *connect.Error) {
	var wire struct {
		Code    string            `json:"code"`
		Message string            `json:"message,omitempty"`
		Details []json.RawMessage `json:"details,omitempty"`
	}
	if json.Unmarshal(body, &wire) != nil || wire.Code == "" {
		return body, nil
	}
	for _, detail := range wire.Details {
		var d struct{ Type string }
		if json.Unmarshal(detail, &d) == nil && d.Type == "google.rpc.ErrorInfo" {
			return body, nil
		}
	}
	var code connect.Code
	if code.UnmarshalText([]byte(wire.Code)) != nil {
		return body, nil
	}
	made := connect.NewError(code, errors.New(wire.Message))
	value, err := proto.Marshal(transportErrorInfo(code))
	if err != nil {
		dropDetail(errorInfoName, err)
		return body, made
	}
	detail, _ := json.Marshal(map[string]string{"type": errorInfoName, "value": base64.RawStdEncoding.EncodeToString(value)})
	wire.Details = append(wire.Details, detail)
	out, err := json.Marshal(wire)
	if err != nil {
		dropDetail(errorInfoName, err)
		return body, made
	}
	return out, made
}

// ensureGRPCErrorInfo adds an ErrorInfo to the grpc-status-details-bin of a
// gRPC error found in header under prefix ("" for headers,
// http.TrailerPrefix for trailers) that has none, and returns that error;
// otherwise nil. A message that is not valid UTF-8 (connect-go quotes the
// bytes of a request that did not decode) is repaired first, in
// grpc-message too: the status could not be marshalled with it.
func ensureGRPCErrorInfo(header http.Header, prefix string) *connect.Error {
	code := header.Get(prefix + "Grpc-Status")
	if code == "" || code == "0" {
		return nil
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return nil
	}
	st := &status.Status{Code: int32(n)}
	if msg, err := url.PathUnescape(header.Get(prefix + "Grpc-Message")); err == nil {
		st.Message = msg
		if valid := validUTF8(msg); valid != msg {
			st.Message = valid
			header.Set(prefix+"Grpc-Message", grpcPercentEncode(valid))
		}
	}
	if raw := header.Get(prefix + "Grpc-Status-Details-Bin"); raw != "" {
		decoded, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "="))
		if err != nil || proto.Unmarshal(decoded, st) != nil {
			return nil
		}
		for _, d := range st.GetDetails() {
			if d.MessageIs((*errdetails.ErrorInfo)(nil)) {
				return nil
			}
		}
	}
	made := connect.NewError(connect.Code(n), errors.New(st.GetMessage()))
	info, err := anypb.New(transportErrorInfo(connect.Code(n)))
	if err != nil {
		dropDetail(errorInfoName, err)
		return made
	}
	st.Details = append(st.Details, info)
	encoded, err := proto.Marshal(st)
	if err != nil {
		dropDetail(errorInfoName, err)
		return made
	}
	header.Set(prefix+"Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(encoded))
	return made
}

// grpcPercentEncode encodes a grpc-message value as gRPC's HTTP/2 mapping
// says: each byte outside printable ASCII, and '%', as %XX.
func grpcPercentEncode(msg string) string {
	var b strings.Builder
	for i := range len(msg) {
		if c := msg[i]; c < ' ' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
