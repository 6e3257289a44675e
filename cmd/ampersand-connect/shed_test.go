package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// TestShedding holds one call in flight on a server run with
// -max-in-flight 1: a call on either listener is refused at once with
// resource_exhausted, an ErrorInfo OVERLOADED and a RetryInfo, and the
// metrics count it.
func TestShedding(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 4), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		http.NotFound(w, r)
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	s := runServer(t, map[string]string{"AMPERSAND_API_KEY": "k", "AMPERSAND_API_URL": up.URL},
		"-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-max-in-flight", "1")
	req := func() *connect.Request[ampersandv1.GetIntegrationRequest] {
		return connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"})
	}
	first := make(chan error, 1)
	go func() {
		_, err := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+s.addr).GetIntegration(context.Background(), req())
		first <- err
	}()
	<-arrived
	for name, client := range map[string]ampersandv1connect.IntegrationServiceClient{
		"main port": ampersandv1connect.NewIntegrationServiceClient(h2cClient(), "http://"+s.addr, connect.WithGRPC()),
		"gRPC port": ampersandv1connect.NewIntegrationServiceClient(h2cClient(), "http://"+s.grpcAddr, connect.WithGRPC()),
	} {
		_, err := client.GetIntegration(context.Background(), req())
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("%s: err = %v, want resource_exhausted", name, err)
		}
		var reason string
		var retry bool
		for _, d := range err.(*connect.Error).Details() {
			switch v, _ := d.Value(); v := v.(type) {
			case *errdetails.ErrorInfo:
				reason = v.GetReason()
			case *errdetails.RetryInfo:
				retry = v.GetRetryDelay().AsDuration() > 0
			}
		}
		if reason != "OVERLOADED" || !retry {
			t.Errorf("%s: reason %q, RetryInfo %v", name, reason, retry)
		}
	}
	resp, err := http.Get("http://" + s.adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\nampersand_connect_calls_shed_total 2\n", "\nampersand_connect_calls_in_flight 1\n"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}
	release <- struct{}{}
	if err := <-first; connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("the first call: %v", err)
	}
}

// TestDefaultMaxInFlight: the default bound is the memory limit over
// callBytes, within its bounds. Not parallel: it sets the process's
// memory limit.
func TestDefaultMaxInFlight(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for limit, want := range map[int64]int{
		2 << 30:   10,
		100 << 20: minDefaultInFlight,
		1 << 40:   maxDefaultInFlight,
	} {
		debug.SetMemoryLimit(limit)
		if got, source := defaultMaxInFlight(); got != want || source != "GOMEMLIMIT" {
			t.Errorf("with GOMEMLIMIT %d: %d from %s, want %d", limit, got, source, want)
		}
	}
}
