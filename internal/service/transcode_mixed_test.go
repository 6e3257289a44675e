package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/ampersand-connect/gateway/internal/rest"
)

// TestTranscodedCoalescedMixedClients: concurrent identical calls from every
// protocol and encoding share one upstream request (a proto or a JSON
// caller leads), then the cache and the memo answer them; each gets the
// decoder's message.
func TestTranscodedCoalescedMixedClients(t *testing.T) {
	want := decodedFile(t, "full.json")
	for _, leader := range []string{"connect", "connect-json"} {
		for _, opts := range [][]Option{nil, {WithCache(time.Minute, 1<<20)}} {
			g := newGatedUpstream()
			f := newFixture(t, g.handler, opts...)
			clients := everyEncoding(f)
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
