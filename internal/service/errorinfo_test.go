package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// TestEnsureErrorInfo: the errors connect-go makes itself get an ErrorInfo;
// the service's own keep exactly one.
func TestEnsureErrorInfo(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(upstream.Close)
	client, err := rest.New(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	path, handler := integrationHandler(New(client, WithAPIKey("k")), connect.WithReadMaxBytes(1024))
	var observed []string // code and message of each error connect-go made
	var mu sync.Mutex
	mux.Handle(path, EnsureErrorInfo(handler, func(r *http.Request, err *connect.Error, elapsed time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		observed = append(observed, err.Code().String()+": "+err.Message())
	}))
	server := httptest.NewUnstartedServer(mux)
	server.EnableHTTP2 = true
	server.StartTLS()
	t.Cleanup(server.Close)
	endpoint := server.URL + ampersandv1connect.IntegrationServiceGetIntegrationProcedure

	connectCases := []struct{ name, contentType, body, code string }{
		{"malformed JSON", "application/json", `{"projectIdOrName":`, "invalid_argument"},
		{"malformed binary", "application/proto", "\xff\xff\xff", "invalid_argument"},
		{"oversize", "application/json", `{"projectIdOrName":"` + strings.Repeat("a", 2000) + `"}`, "resource_exhausted"},
	}
	for _, tt := range connectCases {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.contentType)
		resp, err := server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var wire struct {
			Code    string
			Details []struct{ Type, Value string }
		}
		if err := json.Unmarshal(body, &wire); err != nil || wire.Code != tt.code {
			t.Fatalf("%s: %d %s", tt.name, resp.StatusCode, body)
		}
		infos := 0
		for _, d := range wire.Details {
			if d.Type == "google.rpc.ErrorInfo" {
				infos++
				raw, _ := base64.RawStdEncoding.DecodeString(strings.TrimRight(d.Value, "="))
				info := &errdetails.ErrorInfo{}
				if err := proto.Unmarshal(raw, info); err != nil || info.GetReason() != ReasonInvalidRequest || info.GetDomain() != ErrorDomain {
					t.Errorf("%s: ErrorInfo %v %v", tt.name, info, err)
				}
			}
		}
		if infos != 1 {
			t.Errorf("%s: %d ErrorInfo details: %s", tt.name, infos, body)
		}
	}

	// gRPC: a message that does not decode; the details are in the trailers.
	frame := []byte{0, 0, 0, 0, 3, 0xff, 0xff, 0xff}
	req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(frame))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	resp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Trailer.Get("Grpc-Status") != "3" {
		t.Fatalf("grpc-status %q, %v", resp.Trailer.Get("Grpc-Status"), resp.Trailer)
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(resp.Trailer.Get("Grpc-Status-Details-Bin"), "="))
	st := &status.Status{}
	if err != nil || proto.Unmarshal(raw, st) != nil || len(st.GetDetails()) != 1 || !st.GetDetails()[0].MessageIs((*errdetails.ErrorInfo)(nil)) {
		t.Errorf("gRPC details: %v %v", st, err)
	}

	// Each error connect-go made was observed once, with its code and message.
	mu.Lock()
	got := slices.Clone(observed)
	mu.Unlock()
	if len(got) != 4 {
		t.Fatalf("observed %d errors, want 4 (three Connect, one gRPC): %q", len(got), got)
	}
	for i, want := range []string{"invalid_argument: unmarshal", "invalid_argument: unmarshal", "resource_exhausted: ", "invalid_argument: unmarshal"} {
		if !strings.HasPrefix(got[i], want) {
			t.Errorf("observed error %d: %q, want it to start with %q", i, got[i], want)
		}
	}

	// The service's own errors keep exactly one ErrorInfo, over every protocol.
	for _, opts := range [][]connect.ClientOption{nil, {connect.WithGRPC()}, {connect.WithGRPCWeb()}, {connect.WithProtoJSON()}} {
		c := ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, opts...)
		_, err := c.GetIntegration(context.Background(), request("p", "missing"))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("err = %v", err)
		}
		_ = errorInfo(t, asConnectError(t, err))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 4 {
		t.Errorf("the service's own errors were observed as connect-go's: %q", observed[4:])
	}
}

// TestTransportErrorWithInvalidUTF8 sends a gRPC request whose JSON does
// not decode, and whose bytes are not UTF-8: the decoder's error quotes
// them. On the Connect handler and on grpc-go's transport alike, the
// answer is invalid_argument with a valid message and an ErrorInfo, and the
// handler's call is observed.
func TestTransportErrorWithInvalidUTF8(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(upstream.Close)
	client, err := rest.New(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(client, WithAPIKey("k"))
	path, handler := integrationHandler(svc)
	observed := make(chan string, 1)
	mux := http.NewServeMux()
	mux.Handle(path, EnsureErrorInfo(handler, func(r *http.Request, err *connect.Error, elapsed time.Duration) {
		observed <- err.Code().String() + ": " + err.Message()
	}))
	server := httptest.NewUnstartedServer(mux)
	server.EnableHTTP2 = true
	server.StartTLS()
	t.Cleanup(server.Close)
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}

	for name, c := range map[string]struct {
		client *http.Client
		url    string
	}{
		"connect handler": {h2, server.URL},
		"grpc-go":         {h2cClient(), serveGRPC(t, svc)},
	} {
		frame := []byte{0, 0, 0, 0, 2, 0xff, 0xfe}
		req, _ := http.NewRequest(http.MethodPost, c.url+path+"GetIntegration", bytes.NewReader(frame))
		req.Header.Set("Content-Type", "application/grpc+json")
		req.Header.Set("Te", "trailers")
		resp, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		trailer := resp.Trailer
		if resp.Header.Get("Grpc-Status") != "" {
			trailer = resp.Header // trailers-only
		}
		if trailer.Get("Grpc-Status") != "3" {
			t.Fatalf("%s: grpc-status %q, %v", name, trailer.Get("Grpc-Status"), trailer)
		}
		message, err := url.PathUnescape(trailer.Get("Grpc-Message"))
		if err != nil || !utf8.ValidString(message) || !strings.Contains(message, "unmarshal") {
			t.Errorf("%s: grpc-message %q", name, trailer.Get("Grpc-Message"))
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(trailer.Get("Grpc-Status-Details-Bin"), "="))
		st := &status.Status{}
		if err != nil || proto.Unmarshal(raw, st) != nil || len(st.GetDetails()) != 1 || !st.GetDetails()[0].MessageIs((*errdetails.ErrorInfo)(nil)) {
			t.Errorf("%s: details %v %v", name, st, err)
		}
		if st.GetMessage() != message {
			t.Errorf("%s: the status says %q, grpc-message %q", name, st.GetMessage(), message)
		}
	}
	select {
	case got := <-observed:
		if !strings.HasPrefix(got, "invalid_argument: unmarshal") || !utf8.ValidString(got) {
			t.Errorf("observed %q", got)
		}
	default:
		t.Error("the call was not observed")
	}
}

// TestDroppedDetailIsCountedAndLogged adds a detail that cannot be
// marshalled even with valid strings (a proto2 message missing a required
// field): it is counted and logged, never dropped silently. Not parallel:
// it swaps the default logger.
func TestDroppedDetailIsCountedAndLogged(t *testing.T) {
	file, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("required.proto"),
		Package: proto.String("test"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Strict"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:   proto.String("must"),
				Number: proto.Int32(1),
				Label:  descriptorpb.FieldDescriptorProto_LABEL_REQUIRED.Enum(),
				Type:   descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
			}},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	strict := dynamicpb.NewMessage(file.Messages().Get(0))
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))

	before := DroppedDetails()
	connectErr := newError(connect.CodeInternal, ReasonInternal, "internal error", nil)
	addDetails(connectErr, proto.Message(strict))
	if len(connectErr.Details()) != 1 {
		t.Errorf("%d details, want the ErrorInfo alone", len(connectErr.Details()))
	}
	if got := DroppedDetails() - before; got != 1 {
		t.Errorf("%d details counted as dropped, want 1", got)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"error detail dropped","detail":"test.Strict"`) {
		t.Errorf("log: %s", logs.String())
	}
}
