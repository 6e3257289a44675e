package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/translate"
)

// upstreamCall is what the stand-in upstream saw of one call.
type upstreamCall struct {
	path          string
	apiKey        string
	authorization string
}

// standIn is a stand-in upstream serving one handler and recording calls.
type standIn struct {
	mu      sync.Mutex
	calls   []upstreamCall
	handler http.HandlerFunc
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, upstreamCall{r.URL.EscapedPath(), r.Header.Get("X-Api-Key"), r.Header.Get("Authorization")})
	handler := s.handler
	s.mu.Unlock()
	handler(w, r)
}

func (s *standIn) Calls() []upstreamCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]upstreamCall(nil), s.calls...)
}

func serveFile(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := os.ReadFile(name)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

type fixture struct {
	upstream *standIn
	logs     *syncBuffer
	clients  map[string]ampersandv1connect.IntegrationServiceClient
	service  *Service
	// serverURL and httpClient reach the Connect handlers, for clients
	// other than the fixture's.
	serverURL  string
	httpClient *http.Client
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newFixture starts the real handler behind an HTTP/2 test server, in front
// of a stand-in upstream, with a Connect and a gRPC client of it.
func newFixture(t *testing.T, handler http.HandlerFunc, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{upstream: &standIn{handler: handler}, logs: &syncBuffer{}}
	upstreamServer := httptest.NewServer(f.upstream)
	t.Cleanup(upstreamServer.Close)
	client, err := rest.New(upstreamServer.URL + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithLogger(slog.New(slog.NewJSONHandler(f.logs, nil)))}, opts...)
	mux := http.NewServeMux()
	f.service = New(client, opts...)
	f.service.Mount(mux)
	server := httptest.NewUnstartedServer(mux)
	server.EnableHTTP2 = true
	server.StartTLS()
	t.Cleanup(server.Close)
	grpcURL := serveGRPC(t, f.service)
	f.serverURL, f.httpClient = server.URL, server.Client()
	f.clients = map[string]ampersandv1connect.IntegrationServiceClient{
		"connect": ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL),
		"grpc":    ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, connect.WithGRPC()),
		"grpcweb": ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, connect.WithGRPCWeb()),
		// gRPC served by grpc-go's transport (RegisterGRPC).
		"grpc-go": ampersandv1connect.NewIntegrationServiceClient(h2cClient(), grpcURL, connect.WithGRPC()),
	}
	return f
}

// forEachClient runs test once per protocol, and once for gRPC on grpc-go's
// transport.
func forEachClient(t *testing.T, handler http.HandlerFunc, opts []Option, test func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient)) {
	t.Helper()
	for _, protocol := range []string{"connect", "grpc", "grpcweb", "grpc-go"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, handler, opts...)
			test(t, f, f.clients[protocol])
		})
	}
}

func request(project, integration string, header ...string) *connect.Request[ampersandv1.GetIntegrationRequest] {
	req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: project, IntegrationIdOrName: integration})
	for i := 0; i+1 < len(header); i += 2 {
		req.Header().Set(header[i], header[i+1])
	}
	return req
}

func TestGetIntegration(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../translate/testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	forEachClient(t, serveFile("../translate/testdata/integrations/full.json"), nil, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
		resp, err := client.GetIntegration(context.Background(), request("my project/x", "read?accounts#%", "X-Api-Key", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(resp.Msg, want) {
			t.Error("response differs from the translation of the upstream body")
		}
		calls := f.upstream.Calls()
		if len(calls) != 1 || calls[0].path != "/v1/projects/my%20project%2Fx/integrations/read%3Faccounts%23%25" {
			t.Errorf("upstream calls = %+v", calls)
		}
	})
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		serverKey  string
		header     []string
		wantKey    string
		wantAuthz  string
		wantCalled bool
	}{
		{"api key", "", []string{"X-Api-Key", "client-key"}, "client-key", "", true},
		{"bearer", "", []string{"Authorization", "Bearer client-jwt"}, "", "Bearer client-jwt", true},
		{"both", "", []string{"X-Api-Key", "client-key", "Authorization", "Bearer client-jwt"}, "client-key", "Bearer client-jwt", true},
		{"client wins over server key", "server-key", []string{"Authorization", "Bearer client-jwt"}, "", "Bearer client-jwt", true},
		{"server key", "server-key", nil, "server-key", "", true},
		{"none", "", nil, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachClient(t, serveFile("../translate/testdata/integrations/minimal.json"), []Option{WithAPIKey(tt.serverKey)}, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
				_, err := client.GetIntegration(context.Background(), request("p", "i", tt.header...))
				calls := f.upstream.Calls()
				if !tt.wantCalled {
					if connect.CodeOf(err) != connect.CodeUnauthenticated || len(calls) != 0 {
						t.Fatalf("err = %v, upstream calls = %d; want unauthenticated and no call", err, len(calls))
					}
					if errorInfo(t, asConnectError(t, err)).GetReason() != ReasonMissingCredentials {
						t.Error("reason is not MISSING_CREDENTIALS")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(calls) != 1 || calls[0].apiKey != tt.wantKey || calls[0].authorization != tt.wantAuthz {
					t.Errorf("upstream calls = %+v", calls)
				}
				if strings.Contains(f.logs.String(), "client-") || strings.Contains(f.logs.String(), "server-key") {
					t.Errorf("a credential was logged: %s", f.logs.String())
				}
			})
		})
	}
}

func asConnectError(t *testing.T, err error) *connect.Error {
	t.Helper()
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) {
		t.Fatalf("err = %v, not a Connect error", err)
	}
	return connectErr
}

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, project, integration, wantField string
	}{
		{"empty project", "", "i", "project_id_or_name"},
		{"empty integration", "p", "", "integration_id_or_name"},
		{"dot", ".", "i", "project_id_or_name"},
		{"dot dot", "p", "..", "integration_id_or_name"},
		{"too long", strings.Repeat("a", 1025), "i", "project_id_or_name"},
		{"nul", "p\x00", "i", "project_id_or_name"},
		{"newline", "p", "i\n", "integration_id_or_name"},
		{"del", "p\x7f", "i", "project_id_or_name"},
		{"unit separator", "p", "\x1fi", "integration_id_or_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachClient(t, serveFile("../translate/testdata/integrations/minimal.json"), nil, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
				// No credentials: validation comes first.
				_, err := client.GetIntegration(context.Background(), request(tt.project, tt.integration))
				if connect.CodeOf(err) != connect.CodeInvalidArgument {
					t.Fatalf("err = %v, want invalid_argument", err)
				}
				connectErr := asConnectError(t, err)
				if errorInfo(t, connectErr).GetReason() != ReasonInvalidRequest {
					t.Error("reason is not INVALID_REQUEST")
				}
				badRequest := detail[*errdetails.BadRequest](t, connectErr)
				if len(badRequest.GetFieldViolations()) != 1 || badRequest.GetFieldViolations()[0].GetField() != tt.wantField {
					t.Errorf("BadRequest = %v", badRequest)
				}
				if len(f.upstream.Calls()) != 0 {
					t.Error("the upstream was called")
				}
			})
		})
	}
	t.Run("edge values pass", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{strings.Repeat("a", 1024), "...", "a.b", " ", "ü/?#%", "\u0080"} {
			if err := translate.ValidateParam(id); err != nil {
				t.Errorf("ValidateParam(%q) = %v", id, err)
			}
		}
	})
}

func TestUpstreamErrorsThroughProtocols(t *testing.T) {
	t.Parallel()
	problem := `{"type":"about:blank","title":"Not Found","status":404,"detail":"integration x not found","requestId":"req-1","href":"https://docs.example.com/404"}`
	forEachClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(404)
		fmt.Fprint(w, problem)
	}, nil, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
		_, err := client.GetIntegration(context.Background(), request("p", "x", "X-Api-Key", "k"))
		connectErr := asConnectError(t, err)
		if connectErr.Code() != connect.CodeNotFound || connectErr.Message() != "upstream answered 404: integration x not found" {
			t.Errorf("err = %v", err)
		}
		if errorInfo(t, connectErr).GetReason() != "NOT_FOUND" {
			t.Error("reason")
		}
		if p := detail[*ampersandv1.Problem](t, connectErr); p.GetRequestId() != "req-1" || p.GetStatus() != 404 {
			t.Errorf("Problem = %v", p)
		}
		if detail[*errdetails.RequestInfo](t, connectErr).GetRequestId() != "req-1" {
			t.Error("RequestInfo")
		}
		if len(detail[*errdetails.Help](t, connectErr).GetLinks()) != 1 {
			t.Error("Help")
		}
	})
}

func TestInvalidUpstreamBody(t *testing.T) {
	t.Parallel()
	forEachClient(t, serveFile("../translate/testdata/integrations/invalid-field-variant.json"), nil, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
		_, err := client.GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k"))
		connectErr := asConnectError(t, err)
		if connectErr.Code() != connect.CodeInternal || !strings.Contains(connectErr.Message(), "read.objects[1].requiredFields[1]") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestUpstreamTimeouts(t *testing.T) {
	t.Parallel()
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	t.Run("service timeout first", func(t *testing.T) {
		t.Parallel()
		forEachClient(t, slow, []Option{WithUpstreamTimeout(100 * time.Millisecond)}, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := client.GetIntegration(ctx, request("p", "i", "X-Api-Key", "k"))
			connectErr := asConnectError(t, err)
			if connectErr.Code() != connect.CodeUnavailable || errorInfo(t, connectErr).GetReason() != ReasonUpstreamTimeout {
				t.Errorf("err = %v", err)
			}
		})
	})
	t.Run("client deadline first", func(t *testing.T) {
		t.Parallel()
		forEachClient(t, slow, []Option{WithUpstreamTimeout(5 * time.Second)}, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := client.GetIntegration(ctx, request("p", "i", "X-Api-Key", "k"))
			if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
				t.Errorf("err = %v", err)
			}
		})
	})
}

func TestUnknownEnumIsLogged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, serveFile("../translate/testdata/integrations/unknown.json"))
	resp, err := f.clients["connect"].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.GetIntegration().GetLatestRevision().GetContent().GetRead().GetObjects()[0].GetDelivery().GetMode() != ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED {
		t.Error("unknown mode is not UNSPECIFIED")
	}
	if logs := f.logs.String(); !strings.Contains(logs, `"value":"streaming"`) || !strings.Contains(logs, `"path":"latestRevision.content.read.objects[0].delivery.mode"`) {
		t.Errorf("logs = %s", logs)
	}
}

// TestAnonymous checks WithAnonymous: no credentials, no refusal.
func TestAnonymous(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		serveFile("../translate/testdata/integrations/minimal.json")(w, r)
	}, WithAnonymous())
	if _, err := f.clients["connect"].GetIntegration(context.Background(), request("p", "i")); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Error("upstream not called")
	}
}
