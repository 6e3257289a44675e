package service

import (
	"context"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// TestTranscodedCoalescedMixedClients: concurrent identical calls from every
// protocol and encoding share one upstream request (a proto or a JSON
// caller leads), then the cache and the memo answer them; each gets the
// decoder's message.
func TestTranscodedCoalescedMixedClients(t *testing.T) {
	body, err := os.ReadFile("../translate/testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, leader := range []string{"connect", "connect-json"} {
		for _, opts := range [][]Option{nil, {WithCache(time.Minute, 1<<20)}} {
			g := newGatedUpstream()
			f := newFixture(t, g.handler, opts...)
			clients := maps.Clone(f.clients)
			url, hc := f.serverURL, f.httpClient
			clients["connect-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithProtoJSON())
			clients["grpc-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithGRPC(), connect.WithProtoJSON())
			clients["grpcweb-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithGRPCWeb(), connect.WithProtoJSON())
			clients["get"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithHTTPGet())
			clients["get-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithHTTPGet(), connect.WithProtoJSON())
			clients["gzip"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithSendGzip())
			call := func(name string) {
				resp, err := clients[name].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k"))
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				if !proto.Equal(resp.Msg, want) {
					t.Errorf("%s: got %v", name, resp.Msg)
				}
			}
			var wg sync.WaitGroup
			wg.Go(func() { call(leader) })
			<-g.arrived
			n := 1
			for range 3 {
				for name := range clients {
					n++
					wg.Go(func() { call(name) })
				}
			}
			waitForWaiters(t, f.service, getIntegrationKey(rest.Credentials{APIKey: "k"}, "p", "i"), n-4) // grpc-go's may come late
			close(g.release)
			wg.Wait()
			for range 3 { // then the cache, or the memo
				for name := range clients {
					wg.Go(func() { call(name) })
				}
			}
			wg.Wait()
		}
	}
}
