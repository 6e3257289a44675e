package service

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

func TestCacheThroughTheHandler(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	client := fullIntegrationUpstream(t, &requests)
	svc := New(client, WithCache(time.Hour, 1<<20), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	mux := http.NewServeMux()
	svc.Mount(mux)
	server := httptest.NewUnstartedServer(mux)
	server.EnableHTTP2 = true
	server.StartTLS()
	t.Cleanup(server.Close)

	body, err := os.ReadFile("../translate/testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	clients := []ampersandv1connect.IntegrationServiceClient{
		ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL),
		ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, connect.WithProtoJSON()),
		ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, connect.WithGRPC()),
		ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, connect.WithGRPCWeb(), connect.WithProtoJSON()),
		ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, connect.WithHTTPGet()),
	}
	for round := range 2 {
		for i, c := range clients {
			resp, err := c.GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k"))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(resp.Msg, want) {
				t.Errorf("round %d client %d: the cached answer differs", round, i)
			}
		}
	}
	if requests.Load() != 1 {
		t.Errorf("%d upstream requests for 10 identical calls, want 1", requests.Load())
	}
	// Other credentials: their own request. Errors: never kept.
	if _, err := clients[0].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "other")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := clients[0].GetIntegration(context.Background(), request("p", "missing", "X-Api-Key", "k")); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("err = %v", err)
		}
	}
	if requests.Load() != 4 {
		t.Errorf("%d upstream requests, want 4", requests.Load())
	}
}

func BenchmarkCacheHit(b *testing.B) {
	body := largeIntegration(b, 1600)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer upstream.Close()
	client, err := rest.New(upstream.URL)
	if err != nil {
		b.Fatal(err)
	}
	svc := New(client, WithAPIKey("k"), WithCache(time.Hour, 1<<20))
	mux := http.NewServeMux()
	svc.Mount(mux)
	server := httptest.NewServer(mux)
	defer server.Close()
	caller := ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := caller.GetIntegration(context.Background(), request("p", "i")); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemo: a call whose upstream body is the one the last response for the
// same call was made from reuses that response (and still reports its
// unknown enum values); a changed body is translated afresh.
func TestMemo(t *testing.T) {
	t.Parallel()
	var bodyName atomic.Value
	bodyName.Store("../translate/testdata/integrations/unknown.json")
	var requests atomic.Int32
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		serveFile(bodyName.Load().(string))(w, r)
	})
	get := func(key string) *ampersandv1.GetIntegrationResponse {
		t.Helper()
		resp, err := f.clients["connect"].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", key))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Msg
	}
	first, second := get("k"), get("k")
	if !proto.Equal(first, second) || second.GetIntegration().GetName() != "unknown" {
		t.Error("the memoized answer differs")
	}
	if n := strings.Count(f.logs.String(), `"value":"streaming"`); n != 2 {
		t.Errorf("the unknown enum value was logged %d times for 2 calls", n)
	}
	bodyName.Store("../translate/testdata/integrations/full.json")
	if got := get("k"); got.GetIntegration().GetName() != "read-accounts" {
		t.Errorf("a changed body was not translated afresh: %v", got.GetIntegration().GetName())
	}
	if requests.Load() != 3 {
		t.Errorf("%d upstream requests, want 3: the memo never skips the upstream", requests.Load())
	}
}

// fullIntegrationUpstream starts a stand-in upstream that serves the full
// sample as project p's integration i, and 404 for anything else, counting
// requests; it returns a client of it.
func fullIntegrationUpstream(t *testing.T, requests *atomic.Int32) *rest.Client {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/projects/p/integrations/i" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		serveFile("../translate/testdata/integrations/full.json")(w, r)
	}))
	t.Cleanup(upstream.Close)
	client, err := rest.New(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestMemoKeepsOnlyRepeatedCalls: the memo keeps a response only for a call
// it has seen before, so a call that is never repeated costs no response
// kept; from the third identical call with the same body on, the response
// is reused.
func TestMemoKeepsOnlyRepeatedCalls(t *testing.T) {
	t.Parallel()
	client := fullIntegrationUpstream(t, new(atomic.Int32))
	svc := New(client, WithAPIKey("k"))
	req := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}
	var got [4]*ampersandv1.GetIntegrationResponse
	for i := range got {
		resp, err := svc.callGetIntegration(context.Background(), req, rest.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		got[i] = resp
	}
	if got[0] == got[1] {
		t.Error("the first call's response was kept: the memo keeps calls it has not seen before")
	}
	if got[2] != got[1] || got[3] != got[1] {
		t.Error("a call seen before, with the same body, was translated again")
	}
}
