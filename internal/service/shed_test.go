package service

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// TestMaxInFlight holds one call in flight with a bound of one: the next
// call, on every protocol and transport, is refused at once with
// resource_exhausted, an ErrorInfo OVERLOADED and a RetryInfo, and never
// reaches the upstream; once the first call is done, calls are served.
func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"connect", "grpc", "grpcweb", "grpc-go"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			g := newGatedUpstream()
			shed := make(chan struct{}, 16)
			f := newFixture(t, g.handler, WithAPIKey("k"), WithMaxInFlight(1, func() { shed <- struct{}{} }))
			client := f.clients[protocol]
			first := make(chan error, 1)
			go func() {
				_, err := client.GetIntegration(context.Background(), request("p", "first"))
				first <- err
			}()
			<-g.arrived
			if got := f.service.InFlight(); got != 1 {
				t.Errorf("%d calls in flight, want 1", got)
			}
			_, err := client.GetIntegration(context.Background(), request("p", "second"))
			connectErr := asConnectError(t, err)
			if connectErr.Code() != connect.CodeResourceExhausted {
				t.Fatalf("err = %v, want resource_exhausted", err)
			}
			if info := errorInfo(t, connectErr); info.GetReason() != ReasonOverloaded || info.GetMetadata()["maxInFlight"] != "1" {
				t.Errorf("ErrorInfo = %v", info)
			}
			if retry := detail[*errdetails.RetryInfo](t, connectErr); retry.GetRetryDelay().AsDuration() != ShedRetryDelay {
				t.Errorf("RetryInfo = %v", retry)
			}
			select {
			case <-shed:
			case <-time.After(5 * time.Second):
				t.Error("the refused call was not reported")
			}
			g.release <- struct{}{}
			if err := <-first; err != nil {
				t.Errorf("the first call: %v", err)
			}
			go func() { <-g.arrived; g.release <- struct{}{} }()
			if _, err := client.GetIntegration(context.Background(), request("p", "third")); err != nil {
				t.Errorf("a call after the first: %v", err)
			}
			if got := g.requests.Load(); got != 2 {
				t.Errorf("%d upstream requests, want 2: the refused call made none", got)
			}
		})
	}
}
