package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/demo"
)

// runOverload pushes calls for integrations of bodyMiB MiB, each of
// another name (so that no two share an upstream request or a decoded
// response), concurrency at a time, far past the server's bound of calls
// in flight. It runs the server twice: with -max-in-flight maxInFlight,
// where every answer must be the integration or resource_exhausted with
// an ErrorInfo OVERLOADED and a RetryInfo, and every call must be served
// in the end; and with a bound no client reaches, for comparison. It reports each run's answers and the server's
// peak memory. The upstream holds each answer 200 ms, so that calls pile up.
// A client refused tries again after the RetryInfo's delay, as a client
// should, until served or five minutes have passed.
func runOverload(binary string, calls, concurrency, maxInFlight, bodyMiB int) error {
	body, err := largeIntegration(bodyMiB << 20)
	if err != nil {
		return err
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer upstream.Close()
	fmt.Printf("integrations of %.1f MiB, %d calls, %d at once\n", float64(len(body))/(1<<20), calls, concurrency)
	if err := overloadRun(binary, upstream.URL, calls, concurrency, maxInFlight); err != nil {
		return err
	}
	// For comparison, a bound no client reaches: the calls that fail
	// (memory and CPU run short, and the upstream's budget runs out) are
	// reported, not an error of this run.
	_ = overloadRun(binary, upstream.URL, calls, concurrency, 1<<20)
	return nil
}

func overloadRun(binary, upstreamURL string, calls, concurrency, maxInFlight int) error {
	cmd := exec.Command(binary, "-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-upstream", upstreamURL+"/v1", "-max-in-flight", fmt.Sprint(maxInFlight))
	cmd.Env = append(os.Environ(), "AMPERSAND_API_KEY=load-test-key")
	addr, grpcAddr, _, err := startServer(cmd)
	if err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	clients := []ampersandv1connect.IntegrationServiceClient{
		ampersandv1connect.NewIntegrationServiceClient(h2c, "http://"+addr, connect.WithGRPC(), connect.WithReadMaxBytes(64<<20)),
		ampersandv1connect.NewIntegrationServiceClient(h2c, "http://"+addr, connect.WithReadMaxBytes(64<<20)),
		ampersandv1connect.NewIntegrationServiceClient(h2c, "http://"+grpcAddr, connect.WithGRPC(), connect.WithReadMaxBytes(64<<20)),
	}
	var next, served, refusals, failures atomic.Int64
	var codesMu sync.Mutex
	codes := map[connect.Code]int{}
	var firstFailure sync.Once
	var failure error
	begin := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				err := callUntilServed(ctx, clients[i%len(clients)], fmt.Sprint("large-", i), &refusals)
				cancel()
				if err != nil {
					failures.Add(1)
					firstFailure.Do(func() { failure = fmt.Errorf("call %d: %w", i, err) })
					codesMu.Lock()
					codes[connect.CodeOf(err)]++
					codesMu.Unlock()
				} else {
					served.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	peakRSS, err := peakMemory(cmd.Process.Pid)
	if err != nil {
		return err
	}
	bound := fmt.Sprint(maxInFlight)
	if maxInFlight >= 1<<20 {
		bound = "none reached"
	}
	fmt.Printf("-max-in-flight %s: %d served, %d refusals (OVERLOADED, tried again), %d failed %v, in %v; server peak RSS %.0f MiB\n",
		bound, served.Load(), refusals.Load(), failures.Load(), codes, elapsed.Round(time.Millisecond), float64(peakRSS)/(1<<20))
	switch {
	case failures.Load() > 0:
		return fmt.Errorf("%d wrong answers, the first: %w", failures.Load(), failure)
	case maxInFlight < concurrency && refusals.Load() == 0:
		return errors.New("no call refused, though the clients pushed past the bound")
	}
	return nil
}

// callUntilServed calls for an integration until it is served, counting
// the refusals, each of which must be resource_exhausted with an ErrorInfo
// OVERLOADED and a RetryInfo, whose delay (with jitter) it waits.
func callUntilServed(ctx context.Context, client ampersandv1connect.IntegrationServiceClient, name string, refusals *atomic.Int64) error {
	for {
		resp, err := client.GetIntegration(ctx, connect.NewRequest(&ampersandv1.GetIntegrationRequest{
			ProjectIdOrName: "my-project", IntegrationIdOrName: name,
		}))
		if err == nil {
			if len(resp.Msg.GetIntegration().GetLatestRevision().GetContent().GetRead().GetObjects()) < 2 {
				return errors.New("not the large integration")
			}
			return nil
		}
		var connectErr *connect.Error
		if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeResourceExhausted {
			return err
		}
		var reason string
		var delay time.Duration
		for _, d := range connectErr.Details() {
			switch v := detailValue(d).(type) {
			case *errdetails.ErrorInfo:
				reason = v.GetReason()
			case *errdetails.RetryInfo:
				delay = v.GetRetryDelay().AsDuration()
			}
		}
		if reason != "OVERLOADED" || delay <= 0 {
			return fmt.Errorf("refused with reason %q, retry delay %v: %w", reason, delay, err)
		}
		refusals.Add(1)
		select {
		case <-time.After(delay/2 + rand.N(delay)):
		case <-ctx.Done():
			return fmt.Errorf("not served in time: %w", ctx.Err())
		}
	}
}

func detailValue(d *connect.ErrorDetail) any {
	v, _ := d.Value()
	return v
}

// largeIntegration returns an integration of at least size bytes: the
// objects of demo.Sized's megabyte, repeated.
func largeIntegration(size int) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(demo.Sized(1<<20), &doc); err != nil {
		return nil, err
	}
	read := doc["latestRevision"].(map[string]any)["content"].(map[string]any)["read"].(map[string]any)
	objects := read["objects"].([]any)
	for len(read["objects"].([]any))*(1<<20)/len(objects) < size {
		read["objects"] = append(read["objects"].([]any), objects...)
	}
	return json.Marshal(doc)
}
