package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// getIntegration is the encoding of a request for project "p" and the
// integration named.
func getIntegration(integration string) []byte {
	return append([]byte{0x0a, 1, 'p', 0x12, byte(len(integration))}, integration...)
}

// TestRapidReset opens calls and resets them at once, 20,000 on one
// connection, each for another integration (so that no two share an
// upstream request), on both listeners of the server as main runs it. The
// server closes the connection, and the upstream sees a bounded number of
// requests: the calls that reached it before the budget of resets was
// spent, and those in flight. A client that resets a few calls keeps its
// connection.
func TestRapidReset(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		time.Sleep(10 * time.Millisecond)
		http.NotFound(w, r)
	}))
	t.Cleanup(up.Close)
	s := runServer(t, map[string]string{"AMPERSAND_API_KEY": "k", "AMPERSAND_API_URL": up.URL}, "-grpc-addr", "127.0.0.1:0")
	procedure := ampersandv1connect.IntegrationServiceGetIntegrationProcedure
	for _, port := range []struct{ name, addr string }{{"main", s.addr}, {"gRPC", s.grpcAddr}} {
		polite := dialRaw(t, port.addr)
		if got := polite.serverMaxStreams(); got != maxConcurrentStreams {
			t.Errorf("%s port: SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", port.name, got, maxConcurrentStreams)
		}
		for i := range resetBurst / 4 {
			id, _ := polite.request(procedure)
			_ = polite.message(id, getIntegration(fmt.Sprint("polite-", i)))
			_ = polite.reset(id)
		}

		before := requests.Load()
		c := dialRaw(t, port.addr)
		sent := 0
		for i := range 20000 {
			id, err := c.request(procedure)
			if err != nil {
				break
			}
			if c.message(id, getIntegration(fmt.Sprint("i", i))) != nil || c.reset(id) != nil {
				break
			}
			sent++
		}
		if !c.waitClosed(10 * time.Second) {
			t.Errorf("%s port: the connection is still open after %d resets", port.name, sent)
		}
		time.Sleep(200 * time.Millisecond) // requests in flight reach the upstream
		// At most the budget, and the calls in flight when it ran out.
		if got, bound := requests.Load()-before, int64(resetBurst+maxConcurrentStreams); got > bound {
			t.Errorf("%s port: %d upstream requests for %d streams reset, want at most %d", port.name, got, sent, bound)
		} else {
			t.Logf("%s port: %d streams sent, %d upstream requests", port.name, sent, got)
		}

		// The polite client's connection still serves.
		id, err := polite.request(procedure)
		if err != nil {
			t.Fatalf("%s port, polite client: %v", port.name, err)
		}
		_ = polite.message(id, getIntegration("after"))
		polite.waitEnded(id, 10*time.Second)
		if got := polite.field(id, "grpc-status"); got != "5" { // not_found
			t.Errorf("%s port, polite client: grpc-status %q", port.name, got)
		}
	}
	if !strings.Contains(s.logs.String(), `"msg":"closing a connection whose client resets calls beyond its budget"`) {
		t.Error("no log line for the closed connections")
	}
}

// TestMaxConns: connections beyond -max-conns, both listeners together,
// are closed as soon as accepted; once one closes, another is taken.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	s := runServer(t, map[string]string{"DEMO": "true"}, "-grpc-addr", "127.0.0.1:0", "-max-conns", "2")
	first := dialRaw(t, s.addr)
	second := dialRaw(t, s.grpcAddr)
	for _, c := range []*rawConn{first, second} {
		if c.serverMaxStreams() == 0 {
			t.Fatal("no settings from the server")
		}
	}
	for _, addr := range []string{s.addr, s.grpcAddr} {
		if !dialRaw(t, addr).waitClosed(10 * time.Second) {
			t.Errorf("%s: a third connection was kept", addr)
		}
	}
	first.conn.Close()
	// The slot is free once the server has seen the close.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c := dialRaw(t, s.grpcAddr)
		if c.serverMaxStreams() != 0 && !c.waitClosed(100*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection taken after one closed")
		}
	}
	if !strings.Contains(s.logs.String(), "connections refused: the bound of open connections is reached") {
		t.Error("no warning of the refused connections")
	}
}
