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
	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
)

func response(name string) *codec.Message {
	return sized(name, 0)
}

// sized is a response whose integration's ID is n bytes long.
func sized(name string, n int) *codec.Message {
	return &codec.Message{Message: &ampersandv1.GetIntegrationResponse{Integration: &ampersandv1.Integration{Name: name, Id: string(make([]byte, n))}}}
}

func TestCacheUnit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := newCache(time.Minute, 10_000)
	c.now = func() time.Time { return now }
	a, b := newCallKey(rest.Credentials{APIKey: "a"}, "p", "i"), newCallKey(rest.Credentials{APIKey: "b"}, "p", "i")
	if a == b {
		t.Fatal("keys of different credentials are equal")
	}
	ra := response("a")
	c.put(a, ra)
	if c.get(a) != ra || c.get(b) != nil {
		t.Fatal("get after put")
	}
	now = now.Add(59 * time.Second)
	if c.get(a) != ra {
		t.Error("expired too early")
	}
	now = now.Add(time.Second)
	if c.get(a) != nil || len(c.entries) != 0 || c.bytes != 0 {
		t.Error("not expired after the TTL")
	}

	// Eviction: least recently used first, within the byte bound.
	big := func(name string) *codec.Message {
		return sized(name, 600) // ~2.7 KB of cost each
	}
	keys := make([]callKey, 5)
	for i := range keys {
		keys[i] = newCallKey(rest.Credentials{}, "p", string(rune('a'+i)))
	}
	for i := range 3 {
		c.put(keys[i], big("x"))
	}
	c.get(keys[0]) // keys[1] is now the least recently used
	c.put(keys[3], big("y"))
	c.put(keys[4], big("z"))
	if c.get(keys[1]) != nil || c.get(keys[0]) == nil || c.get(keys[4]) == nil {
		t.Error("eviction did not drop the least recently used first")
	}
	if c.bytes > c.maxBytes {
		t.Errorf("%d bytes held, bound %d", c.bytes, c.maxBytes)
	}
	huge := sized("huge", 20_000)
	c.put(newCallKey(rest.Credentials{}, "p", "huge"), huge)
	if c.get(newCallKey(rest.Credentials{}, "p", "huge")) != nil {
		t.Error("a response larger than the cache was kept")
	}
	var nilCache *cache
	nilCache.put(a, ra)
	if nilCache.get(a) != nil {
		t.Error("a nil cache holds something")
	}
}

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

	// Unit: the memo matches on the call key, the digest and the length.
	m := newCache(time.Hour, 1<<20)
	key := newCallKey(rest.Credentials{APIKey: "a"}, "p", "i")
	resp := response("x")
	m.putEntry(&cacheEntry{key: key, resp: resp, digest: 42, length: 7}, false, 0)
	if m.memoized(key, 42, 7) == nil {
		t.Error("no hit for the same body")
	}
	for _, miss := range []struct {
		key    callKey
		digest uint64
		length int
	}{{key, 43, 7}, {key, 42, 8}, {newCallKey(rest.Credentials{APIKey: "b"}, "p", "i"), 42, 7}} {
		if m.memoized(miss.key, miss.digest, miss.length) != nil {
			t.Errorf("hit for %+v", miss)
		}
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
