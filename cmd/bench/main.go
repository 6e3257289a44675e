// Command bench measures what the server costs per call against the floor
// of a bare reverse proxy in front of the same upstream. In one run it
// starts, as separate processes, a stand-in upstream serving an integration
// of -size bytes, a bare httputil.ReverseProxy to it, and the real server,
// then drives each path in turn (A B A B ..., -rounds rounds) at fixed
// concurrency: direct REST, the proxy over HTTP/1.1 and over h2c, and the
// server with Connect+JSON, Connect+proto, Connect GET, and gRPC from
// connect-go (net/http's HTTP/2) and from grpc-go. Each server path's answer
// is first checked by decoding it; then every path is driven alike, reading
// the answer's bytes (-decode drives the server with connect-go clients
// that decode every answer instead). It reports calls/s, p50/p99 latency,
// the CPU time per call of each process (from /proc), the ratios of the
// server's paths to the proxy's, and the rate ratios paired by round.
//
//	go run ./cmd/bench -size 1600
//	go run ./cmd/bench -size 1600000 -concurrency 8
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/demo"
)

func main() {
	role := flag.String("role", "", "internal: run as the upstream or the proxy process")
	size := flag.Int("size", 1600, "size in bytes of the integration the upstream serves")
	target := flag.String("target", "", "internal: the proxy's upstream")
	concurrency := flag.Int("concurrency", 32, "calls in flight at once")
	duration := flag.Duration("duration", 2*time.Second, "length of one round of one path")
	rounds := flag.Int("rounds", 5, "rounds over all paths")
	server := flag.String("server", "", "server binary (default: build ./cmd/ampersand-connect)")
	serverArgs := flag.String("server-args", "", "more flags for the server, space-separated (e.g. -cache-ttl=1m)")
	decode := flag.Bool("decode", false, "drive the server with connect-go clients that decode every answer, instead of reading the bytes")
	vary := flag.Bool("vary", false, "make every upstream body differ (by trailing white space), so that the server's translation memo never hits")
	only := flag.String("paths", "", "comma-separated server paths to drive, besides direct REST and the proxy (default: all), e.g. gRPC,Connect+proto")
	flag.Parse()

	var err error
	switch *role {
	case "upstream":
		err = serve(upstreamHandler(demo.Sized(*size), *vary))
	case "proxy":
		err = serveProxy(*target)
	case "drain":
		_, err = io.Copy(io.Discard, os.Stdin)
	default:
		err = run(*size, *concurrency, *duration, *rounds, *server, strings.Fields(*serverArgs), *decode, *vary, *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// upstreamHandler answers every request with body; with vary, followed by
// 0 to 255 spaces, one more each request: the same integration in bytes
// that differ, as an upstream whose integration changes would send.
func upstreamHandler(body []byte, vary bool) http.Handler {
	var count atomic.Uint64
	spaces := bytes.Repeat([]byte{' '}, 255)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tail []byte
		if vary {
			tail = spaces[:count.Add(1)%256]
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+len(tail)))
		_, _ = w.Write(body)
		_, _ = w.Write(tail)
	})
}

func serveProxy(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, ForceAttemptHTTP2: true}
	return serve(proxy)
}

// serve listens on a free loopback port, prints it, and serves h.
func serve(h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return (&http.Server{Handler: h, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// child is a started process of the benchmark.
type child struct {
	cmd  *exec.Cmd
	addr string
	// grpcAddr is the server's gRPC listener's (-grpc-addr).
	grpcAddr string
}

// startChild starts cmd and reads its address: the first line of its
// stdout, or for the server (fromLog) the "listening" log line's addr.
// The client does not read the server's log while it measures.
func startChild(cmd *exec.Cmd, fromLog bool) (*child, error) {
	if !fromLog {
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		scanner := bufio.NewScanner(pipe)
		if !scanner.Scan() {
			return nil, fmt.Errorf("%s exited before listening", cmd.Path)
		}
		go func() { _, _ = io.Copy(io.Discard, pipe) }()
		return &child{cmd: cmd, addr: scanner.Text()}, nil
	}
	// The server's log goes to a pipe, as a container's does, drained by a
	// process of its own once the "listening" line has been read.
	reader, writer, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer reader.Close()
	cmd.Stderr = writer
	err = cmd.Start()
	writer.Close()
	if err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(reader)
	var addr string
	for lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), `"msg":"listening","addr":"`); ok {
			addr, _, _ = strings.Cut(rest, `"`)
			continue
		}
		// The gRPC listener's line follows the main one's.
		if _, rest, ok := strings.Cut(lines.Text(), `"msg":"gRPC listening","addr":"`); ok && addr != "" {
			grpcAddr, _, _ := strings.Cut(rest, `"`)
			self, err := os.Executable()
			if err != nil {
				return nil, err
			}
			drain := exec.Command(self, "-role", "drain")
			drain.Stdin = reader
			if err := drain.Start(); err != nil {
				return nil, err
			}
			go func() { _ = drain.Wait() }() // it ends with the server
			return &child{cmd, addr, grpcAddr}, nil
		}
	}
	return nil, fmt.Errorf("%s exited before listening", cmd.Path)
}

// cpuTime reads a process's user and system CPU time from /proc.
func cpuTime(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command, which is in parentheses: state is field 3,
	// utime 14 and stime 15.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, nil
}

// path is one way to get the integration.
type path struct {
	name string
	call func(ctx context.Context) error
}

type result struct {
	calls      int
	elapsed    time.Duration
	latencies  []time.Duration
	cpu        [len(processNames)]time.Duration // by process, as processNames
	errorCount int
	rates      []float64 // calls/s, one a round
}

func (r *result) add(o result) {
	r.calls += o.calls
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	for i := range r.cpu {
		r.cpu[i] += o.cpu[i]
	}
	r.errorCount += o.errorCount
	r.rates = append(r.rates, float64(o.calls)/o.elapsed.Seconds())
}

// pairedRatios divides each round's rate of a by the same round's rate of
// b, and returns the median ratio and the range. The machine's speed
// drifts over seconds; a ratio within a round cancels most of the drift,
// which a ratio of totals does not.
func pairedRatios(a, b result) (median, lo, hi float64) {
	ratios := make([]float64, len(a.rates))
	for i := range ratios {
		ratios[i] = a.rates[i] / b.rates[i]
	}
	slices.Sort(ratios)
	n := len(ratios)
	median = ratios[n/2]
	if n%2 == 0 {
		median = (ratios[n/2-1] + ratios[n/2]) / 2
	}
	return median, ratios[0], ratios[n-1]
}

func run(size, concurrency int, duration time.Duration, rounds int, serverBinary string, serverArgs []string, decode, vary bool, only string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if serverBinary == "" {
		dir, err := os.MkdirTemp("", "bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		serverBinary = filepath.Join(dir, "server")
		if out, err := exec.Command("go", "build", "-o", serverBinary, "./cmd/ampersand-connect").CombinedOutput(); err != nil {
			return fmt.Errorf("build server: %v\n%s", err, out)
		}
	}
	upstream, err := startChild(exec.Command(self, "-role", "upstream", "-size", strconv.Itoa(size), "-vary="+strconv.FormatBool(vary)), false)
	if err != nil {
		return err
	}
	defer upstream.cmd.Process.Kill()
	upstreamURL := "http://" + upstream.addr
	proxy, err := startChild(exec.Command(self, "-role", "proxy", "-target", upstreamURL), false)
	if err != nil {
		return err
	}
	defer proxy.cmd.Process.Kill()
	serverCmd := exec.Command(serverBinary, append([]string{"-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-upstream", upstreamURL + "/v1"}, serverArgs...)...)
	serverCmd.Env = append(os.Environ(), "AMPERSAND_API_KEY=bench-key")
	server, err := startChild(serverCmd, true)
	if err != nil {
		return err
	}
	defer server.cmd.Process.Kill()

	http1 := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2}}
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	restPath := "/v1/projects/my-project/integrations/read-accounts"
	get := func(client *http.Client, base string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+restPath, nil)
			req.Header.Set("X-Api-Key", "bench-key")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	}
	serverURL, grpcURL := "http://"+server.addr, "http://"+server.grpcAddr
	rpc := func(client ampersandv1connect.IntegrationServiceClient) func(ctx context.Context) error {
		msg := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}
		return func(ctx context.Context) error {
			resp, err := client.GetIntegration(ctx, connect.NewRequest(msg))
			if err == nil && resp.Msg.GetIntegration().GetName() != "read-accounts" {
				err = errors.New("wrong integration")
			}
			return err
		}
	}
	decoding := []path{
		{"Connect+JSON", rpc(ampersandv1connect.NewIntegrationServiceClient(http1, serverURL, connect.WithProtoJSON()))},
		{"Connect+proto", rpc(ampersandv1connect.NewIntegrationServiceClient(http1, serverURL))},
		{"Connect GET", rpc(ampersandv1connect.NewIntegrationServiceClient(http1, serverURL, connect.WithHTTPGet()))},
		{"gRPC", rpc(ampersandv1connect.NewIntegrationServiceClient(h2c, serverURL, connect.WithGRPC()))},
		{"gRPC port", rpc(ampersandv1connect.NewIntegrationServiceClient(h2c, grpcURL, connect.WithGRPC()))},
	}
	// Every path's answers are checked once by decoding them; then, unless
	// -decode, the server's paths are driven like the proxy's: the bytes are
	// read and the status checked, so that both sides measure the hop and
	// not the client's decoding.
	for _, p := range decoding {
		if err := p.call(context.Background()); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	serverPaths := decoding
	if !decode {
		serverPaths = rawPaths(http1, h2c, serverURL, grpcURL)
	}
	if only != "" {
		wanted := strings.Split(only, ",")
		serverPaths = slices.DeleteFunc(serverPaths, func(p path) bool { return !slices.Contains(wanted, p.name) })
		if len(serverPaths) == 0 {
			return fmt.Errorf("-paths %q names none of the server's paths", only)
		}
	}
	// The proxy is also called over HTTP/2 (h2c, one connection, like the
	// gRPC paths): the floor of what net/http's HTTP/2 costs a hop.
	paths := append([]path{
		{"direct REST", get(http1, upstreamURL)},
		{"bare proxy", get(http1, "http://"+proxy.addr)},
		{"bare proxy h2c", get(h2c, "http://"+proxy.addr)},
	}, serverPaths...)

	results := make([]result, len(paths))
	for round := range rounds {
		for i, p := range paths {
			r, err := measure(p, concurrency, duration, [...]int{server.cmd.Process.Pid, proxy.cmd.Process.Pid, upstream.cmd.Process.Pid, os.Getpid()})
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			results[i].add(r)
			fmt.Fprintf(os.Stderr, "round %d %-17s %8.0f calls/s\n", round+1, p.name, float64(r.calls)/r.elapsed.Seconds())
		}
	}

	fmt.Printf("integration %d bytes, concurrency %d, %d rounds of %v per path, server flags %q, every body differs: %v\n\n", len(demo.Sized(size)), concurrency, rounds, duration, serverArgs, vary)
	// The hop is the process between client and upstream: none, the proxy,
	// or the server. All four processes share the machine's cores, so the
	// client's and the upstream's CPU per call bound the rates too.
	fmt.Printf("%-17s %8s %9s %9s %10s %10s %10s %8s   %s\n", "path", "calls/s", "p50", "p99",
		"hop CPU", "upstream", "client", "errors", "vs proxy (rate, hop CPU)")
	var proxyRate, h2cRate float64
	var proxyCPU, h2cCPU time.Duration
	for i, p := range paths {
		r := results[i]
		slices.Sort(r.latencies)
		rate := float64(r.calls) / r.elapsed.Seconds()
		perCall := func(process int) time.Duration { return r.cpu[process] / time.Duration(max(r.calls, 1)) }
		var hop time.Duration
		switch p.name {
		case "direct REST":
		case "bare proxy":
			hop = perCall(1)
			proxyRate, proxyCPU = rate, hop
		case "bare proxy h2c":
			hop = perCall(1)
			h2cRate, h2cCPU = rate, hop
		default:
			hop = perCall(0)
		}
		ratio := ""
		if proxyRate > 0 && !strings.HasPrefix(p.name, "bare proxy") && p.name != "direct REST" {
			ratio = fmt.Sprintf("%.2fx, %.2fx", rate/proxyRate, float64(hop)/float64(max(proxyCPU, 1)))
			if strings.HasPrefix(p.name, "gRPC") && h2cRate > 0 {
				ratio += fmt.Sprintf("   (vs h2c proxy %.2fx, %.2fx)", rate/h2cRate, float64(hop)/float64(max(h2cCPU, 1)))
			}
		}
		fmt.Printf("%-17s %8.0f %9v %9v %10v %10v %10v %8d   %s\n", p.name, rate,
			percentile(r.latencies, 50), percentile(r.latencies, 99),
			hop.Round(time.Microsecond), perCall(2).Round(time.Microsecond), perCall(3).Round(time.Microsecond), r.errorCount, ratio)
	}

	fmt.Printf("\nrate vs the bare proxy, paired by round: median (range) over %d rounds\n", rounds)
	proxyIndex := slices.IndexFunc(paths, func(p path) bool { return p.name == "bare proxy" })
	h2cIndex := slices.IndexFunc(paths, func(p path) bool { return p.name == "bare proxy h2c" })
	for i, p := range paths {
		if i <= h2cIndex {
			continue
		}
		median, lo, hi := pairedRatios(results[i], results[proxyIndex])
		line := fmt.Sprintf("%-17s %.2fx (%.2fx to %.2fx)", p.name, median, lo, hi)
		if strings.HasPrefix(p.name, "gRPC") {
			median, lo, hi := pairedRatios(results[i], results[h2cIndex])
			line += fmt.Sprintf("   vs the proxy over h2c %.2fx (%.2fx to %.2fx)", median, lo, hi)
		}
		fmt.Println(line)
	}
	return nil
}

// rawPaths call the server as the proxy is called: one HTTP exchange whose
// body is read and whose status is checked, with no compression asked for.
func rawPaths(http1, h2c *http.Client, serverURL, grpcURL string) []path {
	msg := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}
	binary, _ := proto.Marshal(msg)
	jsonBody, _ := protojson.Marshal(msg)
	endpoint := serverURL + ampersandv1connect.IntegrationServiceGetIntegrationProcedure
	exchange := func(client *http.Client, method, url, contentType string, body []byte, grpc bool) func(context.Context) error {
		return func(ctx context.Context) error {
			var reader io.Reader
			if body != nil {
				reader = bytes.NewReader(body)
			}
			req, _ := http.NewRequestWithContext(ctx, method, url, reader)
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			req.Header.Set("Accept-Encoding", "identity")
			if grpc {
				req.Header.Set("Te", "trailers")
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			switch {
			case err != nil:
				return err
			case resp.StatusCode != http.StatusOK:
				return fmt.Errorf("status %d", resp.StatusCode)
			case grpc && resp.Trailer.Get("Grpc-Status") != "0":
				return fmt.Errorf("grpc-status %q: %s", resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message"))
			case n == 0:
				return errors.New("empty answer")
			}
			return nil
		}
	}
	framed := append([]byte{0, 0, 0, 0, 0}, binary...)
	binaryLen := len(binary)
	framed[1], framed[2], framed[3], framed[4] = byte(binaryLen>>24), byte(binaryLen>>16), byte(binaryLen>>8), byte(binaryLen)
	query := url.Values{"encoding": {"proto"}, "base64": {"1"}, "message": {base64.RawURLEncoding.EncodeToString(binary)}, "connect": {"v1"}}
	return []path{
		{"Connect+JSON", exchange(http1, http.MethodPost, endpoint, "application/json", jsonBody, false)},
		{"Connect+proto", exchange(http1, http.MethodPost, endpoint, "application/proto", binary, false)},
		{"Connect GET", exchange(http1, http.MethodGet, endpoint+"?"+query.Encode(), "", nil, false)},
		{"gRPC", exchange(h2c, http.MethodPost, endpoint, "application/grpc", framed, true)},
		{"gRPC grpc-go", grpcGo(serverURL, binary)},
		{"gRPC port", exchange(h2c, http.MethodPost, grpcURL+ampersandv1connect.IntegrationServiceGetIntegrationProcedure, "application/grpc", framed, true)},
		{"gRPC port grpc-go", grpcGo(grpcURL, binary)},
	}
}

// rawCodec passes messages through as bytes, so that the gRPC client reads
// the answer's bytes without decoding them, like the other raw paths.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *v.(*[]byte) = data; return nil }
func (rawCodec) Name() string                       { return "proto" }

// grpcGo calls the server with grpc-go, the gRPC client most of the
// gRPC path's users run: one connection, with grpc-go's own HTTP/2.
func grpcGo(serverURL string, request []byte) func(context.Context) error {
	conn, err := grpc.NewClient(strings.TrimPrefix(serverURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return func(context.Context) error { return err }
	}
	return func(ctx context.Context) error {
		var answer []byte
		if err := conn.Invoke(ctx, ampersandv1connect.IntegrationServiceGetIntegrationProcedure, &request, &answer, grpc.ForceCodec(rawCodec{})); err != nil {
			return err
		}
		if len(answer) == 0 {
			return errors.New("empty answer")
		}
		return nil
	}
}

// processNames name the processes whose CPU time measure reads, in order.
var processNames = [...]string{"server", "proxy", "upstream", "client"}

// measure drives one path for duration with concurrency workers, and reads
// the CPU time each process (as processNames) spent meanwhile.
func measure(p path, concurrency int, duration time.Duration, pids [len(processNames)]int) (result, error) {
	readCPU := func() (cpu [len(processNames)]time.Duration, err error) {
		for i, pid := range pids {
			if cpu[i], err = cpuTime(pid); err != nil {
				return cpu, err
			}
		}
		return cpu, nil
	}
	before, err := readCPU()
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var errorCount atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				if err := p.call(context.Background()); err != nil {
					errorCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := readCPU()
	if err != nil {
		return result{}, err
	}
	if n := errorCount.Load(); n > 0 {
		return result{}, fmt.Errorf("%d failed calls, the first: %v", n, firstErr.Load())
	}
	r := result{calls: len(all), elapsed: elapsed, latencies: all}
	for i := range r.cpu {
		r.cpu[i] = after[i] - before[i]
	}
	return r, nil
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(10 * time.Microsecond)
}
