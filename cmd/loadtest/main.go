// Command loadtest drives the real server binary with many concurrent calls
// against an in-process stand-in upstream, checks every answer, and reports
// throughput, latency, goroutines before and after (a leak check) and the
// server's peak memory. It exits non-zero when a check fails.
//
//	go run ./cmd/loadtest -calls 10000 -concurrency 200
//
// With -overload, it pushes calls for large integrations, each of another
// name, far past the server's -max-in-flight, once with that bound and once
// without, and reports the server's peak memory in each run: see
// runOverload.
//
//	go run ./cmd/loadtest -overload -max-in-flight 8 -concurrency 80 -calls 400
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// scenario is one kind of call of the mix, and what its answer must be.
type scenario struct {
	integration string
	wantCode    connect.Code // 0: success
	weight      int
}

var mix = []scenario{
	{"read-accounts", 0, 70},
	{"missing", connect.CodeNotFound, 15},
	{"invalid", connect.CodeInvalidArgument, 10},
	{"..", connect.CodeInvalidArgument, 5}, // refused before any upstream call
}

func run() error {
	calls := flag.Int("calls", 10000, "calls in all")
	concurrency := flag.Int("concurrency", 200, "calls in flight at once")
	server := flag.String("server", "", "server binary (default: build ./cmd/ampersand-connect)")
	overload := flag.Bool("overload", false, "push calls for large integrations past -max-in-flight, with and without the bound")
	maxInFlight := flag.Int("max-in-flight", 8, "with -overload: the server's bound of calls in flight")
	bodyMiB := flag.Int("body-mib", 8, "with -overload: the size of each integration, in MiB")
	flag.Parse()

	binary := *server
	if binary == "" {
		dir, err := os.MkdirTemp("", "loadtest")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "server")
		if out, err := exec.Command("go", "build", "-o", binary, "./cmd/ampersand-connect").CombinedOutput(); err != nil {
			return fmt.Errorf("build server: %v\n%s", err, out)
		}
	}
	if *overload {
		return runOverload(binary, *calls, *concurrency, *maxInFlight, *bodyMiB)
	}
	body, err := os.ReadFile("internal/demo/integrations/read-accounts.json")
	if err != nil {
		return fmt.Errorf("run from the repository's root: %w", err)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/read-accounts"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		case strings.HasSuffix(r.URL.Path, "/invalid"):
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"title":"Bad Request","status":400,"detail":"bad name","issues":[{"name":"integrationIdOrName","detail":"bad"}]}`)
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"title":"Not Found","status":404,"detail":"integration not found","requestId":"r"}`)
		}
	}))
	defer upstream.Close()
	upstream.Config.SetKeepAlivesEnabled(true)

	// Every call must be served: no bound of calls in flight is reached
	// (-overload is the test of that bound).
	cmd := exec.Command(binary, "-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-upstream", upstream.URL+"/v1",
		"-max-in-flight", strconv.Itoa(max(*concurrency, 1)*4))
	cmd.Env = append(os.Environ(), "AMPERSAND_API_KEY=load-test-key")
	addr, grpcAddr, adminAddr, err := startServer(cmd)
	if err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()

	before, err := gauge(adminAddr, "go_goroutines")
	if err != nil {
		return err
	}

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Transport{Protocols: protocols}
	http1 := &http.Transport{MaxIdleConnsPerHost: *concurrency}
	clients := []ampersandv1connect.IntegrationServiceClient{
		ampersandv1connect.NewIntegrationServiceClient(&http.Client{Transport: h2c}, "http://"+addr, connect.WithGRPC()),
		ampersandv1connect.NewIntegrationServiceClient(&http.Client{Transport: h2c}, "http://"+addr),
		ampersandv1connect.NewIntegrationServiceClient(&http.Client{Transport: http1}, "http://"+addr, connect.WithProtoJSON()),
		// The gRPC port, on grpc-go's transport.
		ampersandv1connect.NewIntegrationServiceClient(&http.Client{Transport: h2c}, "http://"+grpcAddr, connect.WithGRPC()),
	}
	var plan []scenario
	for _, s := range mix {
		for range s.weight {
			plan = append(plan, s)
		}
	}

	latencies := make([]time.Duration, *calls)
	var next atomic.Int64
	var failures atomic.Int64
	var firstFailure sync.Once
	var failure error
	begin := time.Now()
	var wg sync.WaitGroup
	for range *concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= *calls {
					return
				}
				s := plan[i%len(plan)]
				client := clients[i%len(clients)]
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				start := time.Now()
				resp, err := client.GetIntegration(ctx, connect.NewRequest(&ampersandv1.GetIntegrationRequest{
					ProjectIdOrName: "my-project", IntegrationIdOrName: s.integration,
				}))
				latencies[i] = time.Since(start)
				cancel()
				if err := check(s, resp, err); err != nil {
					failures.Add(1)
					firstFailure.Do(func() { failure = fmt.Errorf("call %d (%s): %w", i, s.integration, err) })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)

	// Close both sides' idle connections: the server's pooled upstream
	// connections hold goroutines that are not a leak.
	h2c.CloseIdleConnections()
	http1.CloseIdleConnections()
	upstream.CloseClientConnections()
	after := math.Inf(1)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if after, err = gauge(adminAddr, "go_goroutines"); err != nil {
			return err
		}
		if after <= before+5 {
			break
		}
	}
	peakRSS, err := peakMemory(cmd.Process.Pid)
	if err != nil {
		return err
	}

	slices.Sort(latencies)
	fmt.Printf("calls %d, concurrency %d, in %v: %.0f calls/s\n", *calls, *concurrency, elapsed.Round(time.Millisecond), float64(*calls)/elapsed.Seconds())
	fmt.Printf("latency p50 %v, p90 %v, p99 %v, max %v\n", pct(latencies, 50), pct(latencies, 90), pct(latencies, 99), latencies[len(latencies)-1])
	fmt.Printf("server goroutines before %.0f, after %.0f; peak RSS %.1f MiB\n", before, after, float64(peakRSS)/(1<<20))
	fmt.Printf("wrong answers: %d\n", failures.Load())

	switch {
	case failures.Load() > 0:
		return fmt.Errorf("%d wrong answers, the first: %w", failures.Load(), failure)
	case after > before+5:
		return fmt.Errorf("goroutine leak: %.0f before, %.0f after", before, after)
	}
	return nil
}

// check says whether an answer is the one the scenario must get.
func check(s scenario, resp *connect.Response[ampersandv1.GetIntegrationResponse], err error) error {
	if s.wantCode == 0 {
		if err != nil {
			return err
		}
		fields := resp.Msg.GetIntegration().GetLatestRevision().GetContent().GetRead().GetObjects()[0].GetRequiredFields()
		if resp.Msg.GetIntegration().GetName() != "read-accounts" || fields[2].GetMapping().GetMapToName() != "priority" {
			return errors.New("wrong integration")
		}
		return nil
	}
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) || connectErr.Code() != s.wantCode {
		return fmt.Errorf("got %v, want %v", err, s.wantCode)
	}
	if len(connectErr.Details()) == 0 {
		return errors.New("no error details")
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(10 * time.Microsecond)
}

// startServer starts cmd and reads its listen addresses from its logs.
func startServer(cmd *exec.Cmd) (addr, grpcAddr, adminAddr string, err error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", "", err
	}
	scanner := bufio.NewScanner(stderr)
	for scanner.Scan() {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal(scanner.Bytes(), &entry) != nil {
			continue
		}
		switch entry.Msg {
		case "admin listening":
			adminAddr = entry.Addr
		case "listening":
			addr = entry.Addr
		case "gRPC listening": // right after "listening"
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return addr, entry.Addr, adminAddr, nil
		}
	}
	return "", "", "", errors.New("the server exited before listening")
}

// gauge reads one unlabelled metric from the admin listener.
func gauge(adminAddr, name string) (float64, error) {
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		if value, ok := strings.CutPrefix(scanner.Text(), name+" "); ok {
			return strconv.ParseFloat(value, 64)
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// peakMemory reads a process's peak resident set size from /proc.
func peakMemory(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if value, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM")
}
