package main_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// TestUnknownMethod calls methods the server does not have, of a service
// it has and of one it does not, in every protocol of the main port: each
// gets unimplemented with an ErrorInfo, in its own protocol.
func TestUnknownMethod(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-demo")
	baseURL := "http://" + p.addr
	conn := dialGRPC(t, p.addr)
	procedures := []string{"/ampersand.v1.IntegrationService/NoSuchMethod", "/ampersand.v2.NoSuchService/GetIntegration"}
	for _, procedure := range procedures {
		connectClients := map[string]*connect.Client[ampersandv1.GetIntegrationRequest, emptypb.Empty]{
			"Connect POST": connect.NewClient[ampersandv1.GetIntegrationRequest, emptypb.Empty](http.DefaultClient, baseURL+procedure),
			"Connect GET": connect.NewClient[ampersandv1.GetIntegrationRequest, emptypb.Empty](http.DefaultClient, baseURL+procedure,
				connect.WithHTTPGet(), connect.WithIdempotency(connect.IdempotencyNoSideEffects), connect.WithProtoJSON()),
			"gRPC-Web":          connect.NewClient[ampersandv1.GetIntegrationRequest, emptypb.Empty](http.DefaultClient, baseURL+procedure, connect.WithGRPCWeb()),
			"gRPC (connect-go)": connect.NewClient[ampersandv1.GetIntegrationRequest, emptypb.Empty](h2cClient(), baseURL+procedure, connect.WithGRPC()),
		}
		for name, client := range connectClients {
			_, err := client.CallUnary(context.Background(), connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project"}))
			var connectErr *connect.Error
			if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeUnimplemented || connectErr.Message() == "" {
				t.Errorf("%s %s: err = %v, want unimplemented", name, procedure, err)
				continue
			}
			if d := detailsOf(t, connectErr); d.info.GetReason() != "INVALID_REQUEST" || d.info.GetDomain() != "api.withampersand.com" {
				t.Errorf("%s %s: ErrorInfo = %v", name, procedure, d.info)
			}
		}

		err := conn.Invoke(context.Background(), procedure, &ampersandv1.GetIntegrationRequest{}, &emptypb.Empty{})
		st := status.Convert(err)
		if st.Code() != codes.Unimplemented {
			t.Errorf("gRPC (grpc-go) %s: err = %v", procedure, err)
			continue
		}
		var info *errdetails.ErrorInfo
		for _, d := range st.Details() {
			if v, ok := d.(*errdetails.ErrorInfo); ok {
				info = v
			}
		}
		if info.GetReason() != "INVALID_REQUEST" {
			t.Errorf("gRPC (grpc-go) %s: details = %v", procedure, st.Details())
		}
	}

	// What does not look like a call is still a plain 404.
	resp, err := http.Get(baseURL + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no/such/page: %s", resp.Status)
	}
}

// TestUnsupportedContentType sends a known procedure requests that no
// protocol would send: the 415 says which types are accepted.
func TestUnsupportedContentType(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-demo")
	url := "http://" + p.addr + "/ampersand.v1.IntegrationService/GetIntegration"
	tests := []struct {
		name, method, contentType string
		want                      []string
	}{
		{"wrong", http.MethodPost, "text/plain", []string{`Content-Type "text/plain"`}},
		{"missing", http.MethodPost, "", []string{"no Content-Type"}},
		{"a form", http.MethodPost, "application/x-www-form-urlencoded", []string{`"application/x-www-form-urlencoded"`}},
		{"GET without a message", http.MethodGet, "", []string{"encoding", "message"}},
	}
	for _, tt := range tests {
		var body io.Reader
		if tt.method == http.MethodPost {
			body = strings.NewReader(`{"projectIdOrName":"my-project"}`)
		}
		req, err := http.NewRequest(tt.method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		if tt.contentType != "" {
			req.Header.Set("Content-Type", tt.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %s, Content-Type %q", tt.name, resp.Status, resp.Header.Get("Content-Type"))
		}
		for _, want := range append(tt.want, "application/json", "application/proto", "application/grpc", "application/grpc-web") {
			if !strings.Contains(string(answer), want) {
				t.Errorf("%s: the body does not say %q:\n%s", tt.name, want, answer)
			}
		}
	}
}
