// Command bench measures what the server costs per call against the floor
// of a bare reverse proxy in front of the same upstream. In one run it
// starts, as separate processes, a stand-in upstream, a bare
// httputil.ReverseProxy to it, and the real server, then drives each path
// in turn (A B A B ..., -rounds rounds) at fixed concurrency: direct REST,
// the proxy over HTTP/1.1 and over h2c, and the server with Connect+JSON,
// Connect+proto, Connect GET, and gRPC from connect-go (net/http's HTTP/2)
// and from grpc-go, on the main port and on -grpc-addr's.
//
// By default every call names a different integration (-op get) or
// project (-op list), so the upstream's body differs on every request and
// nothing can be shared: no coalescing, no memo, no cache. With -same,
// every call is identical, the case the server's sharing serves best.
//
// Each server path's answer is first checked by decoding it; then every
// path is driven alike, reading the answer's bytes (-decode drives the
// server with connect-go clients that decode every answer instead). It
// reports calls/s, p50/p99 latency, the CPU time per call of each process
// (from /proc), the ratios of the server's paths to the proxy's, and the
// rate ratios paired by round. -memory N then drives a fresh server with N
// calls in flight and reports its peak RSS and its allocations per call;
// -profile DIR saves a CPU profile of each server path, from a round of its
// own that the figures leave out.
//
//	go run ./cmd/bench -size 1600
//	go run ./cmd/bench -size 1600000 -concurrency 8
//	go run ./cmd/bench -size 1600000 -op list -concurrency 8
//	go run ./cmd/bench -size 1600000 -memory 200 -paths Connect+proto
//	go run ./cmd/bench -size 1600 -same
package main

import (
	"bufio"
	"context"
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
)

func main() {
	role := flag.String("role", "", "internal: run as the upstream or the proxy process")
	size := flag.Int("size", 1600, "size in bytes of the upstream's answer")
	target := flag.String("target", "", "internal: the proxy's upstream")
	var o options
	flag.IntVar(&o.concurrency, "concurrency", 32, "calls in flight at once")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "length of one round of one path")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds over all paths")
	flag.StringVar(&o.server, "server", "", "server binary (default: build ./cmd/ampersand-connect)")
	serverArgs := flag.String("server-args", "", "more flags for the server, space-separated (e.g. -cache-ttl=1m)")
	flag.BoolVar(&o.decode, "decode", false, "drive the server with connect-go clients that decode every answer, instead of reading the bytes")
	flag.StringVar(&o.op, "op", "get", "the operation every call makes: get (GetIntegration) or list (ListIntegrations)")
	flag.BoolVar(&o.same, "same", false, "make every call identical (the same integration or project), instead of each naming another")
	vary := flag.Bool("vary", false, "make every upstream body differ (by trailing white space), even for identical calls")
	flag.StringVar(&o.only, "paths", "", "comma-separated server paths to drive, besides direct REST and the proxy (default: all), e.g. gRPC,Connect+proto")
	flag.IntVar(&o.memory, "memory", 0, "then drive a fresh server with this many calls in flight on the first server path, and report its RSS and allocations per call")
	flag.StringVar(&o.profile, "profile", "", "save a CPU profile of each server path, from a round of its own, in this directory")
	flag.Parse()
	o.serverArgs = strings.Fields(*serverArgs)
	o.size, o.vary = *size, *vary

	var err error
	switch *role {
	case "upstream":
		err = serve(upstreamHandler(*size, *vary))
	case "proxy":
		err = serveProxy(*target)
	case "drain":
		_, err = io.Copy(io.Discard, os.Stdin)
	default:
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the benchmark's flags.
type options struct {
	size, concurrency, rounds int
	duration                  time.Duration
	server                    string
	serverArgs                []string
	decode, same, vary        bool
	op, only, profile         string
	memory                    int
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
	// grpcAddr is the server's gRPC listener's (-grpc-addr), and adminAddr
	// its admin listener's (-admin-addr).
	grpcAddr, adminAddr string
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
	var addr, adminAddr string
	for lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), `"msg":"admin listening","addr":"`); ok {
			adminAddr, _, _ = strings.Cut(rest, `"`)
			continue
		}
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
			return &child{cmd, addr, grpcAddr, adminAddr}, nil
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

// path is one way to make the operation's call.
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

// clients returns the load generator's HTTP clients: one over HTTP/1.1
// that keeps a connection per call in flight, and one over h2c (HTTP/2
// without TLS, on one connection, as gRPC clients call).
func clients(inFlight int) (http1, h2c *http.Client) {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight * 2}},
		&http.Client{Transport: &http.Transport{Protocols: protocols}}
}

// startServer starts the server binary in front of upstreamURL, on
// loopback ports of its own, with its admin listener.
func startServer(binary, upstreamURL string, args []string) (*child, error) {
	cmd := exec.Command(binary, append([]string{"-addr", "127.0.0.1:0", "-grpc-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-upstream", upstreamURL + "/v1"}, args...)...)
	cmd.Env = append(os.Environ(), "AMPERSAND_API_KEY=bench-key")
	return startChild(cmd, true)
}

func run(o options) error {
	op, ok := operations(o.size)[o.op]
	if !ok {
		return fmt.Errorf("-op %q: want get or list", o.op)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.server == "" {
		dir, err := os.MkdirTemp("", "bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.server = filepath.Join(dir, "server")
		if out, err := exec.Command("go", "build", "-o", o.server, "./cmd/ampersand-connect").CombinedOutput(); err != nil {
			return fmt.Errorf("build server: %v\n%s", err, out)
		}
	}
	upstream, err := startChild(exec.Command(self, "-role", "upstream", "-size", strconv.Itoa(o.size), "-vary="+strconv.FormatBool(o.vary)), false)
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
	server, err := startServer(o.server, upstreamURL, o.serverArgs)
	if err != nil {
		return err
	}
	defer server.cmd.Process.Kill()

	http1, h2c := clients(o.concurrency)
	serverURL, grpcURL := "http://"+server.addr, "http://"+server.grpcAddr
	numbers := &calls{same: o.same}
	// Every path's answers are checked once by decoding them; then, unless
	// -decode, the server's paths are driven like the proxy's: the bytes are
	// read and the status checked, so that both sides measure the hop and
	// not the client's decoding.
	for _, p := range decodingPaths(http1, h2c, serverURL, grpcURL, op, numbers.next) {
		if err := p.call(context.Background()); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	serverPaths := decodingPaths(http1, h2c, serverURL, grpcURL, op, numbers.next)
	if !o.decode {
		serverPaths = rawPaths(http1, h2c, serverURL, grpcURL, op, numbers.next)
	}
	if o.only != "" {
		wanted := strings.Split(o.only, ",")
		serverPaths = slices.DeleteFunc(serverPaths, func(p path) bool { return !slices.Contains(wanted, p.name) })
		if len(serverPaths) == 0 {
			return fmt.Errorf("-paths %q names none of the server's paths", o.only)
		}
	}
	// The proxy is also called over HTTP/2 (h2c, one connection, like the
	// gRPC paths): the floor of what net/http's HTTP/2 costs a hop.
	paths := append([]path{
		{"direct REST", restGet(http1, upstreamURL, op, numbers.next)},
		{"bare proxy", restGet(http1, "http://"+proxy.addr, op, numbers.next)},
		{"bare proxy h2c", restGet(h2c, "http://"+proxy.addr, op, numbers.next)},
	}, serverPaths...)

	results := make([]result, len(paths))
	pids := [...]int{server.cmd.Process.Pid, proxy.cmd.Process.Pid, upstream.cmd.Process.Pid, os.Getpid()}
	for round := range o.rounds {
		for i, p := range paths {
			r, err := measure(p, o.concurrency, o.duration, pids)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			results[i].add(r)
			fmt.Fprintf(os.Stderr, "round %d %-17s %8.0f calls/s\n", round+1, p.name, float64(r.calls)/r.elapsed.Seconds())
		}
	}
	// The profiles come from a round of their own, which the figures leave
	// out: the profiler costs the server CPU too.
	if o.profile != "" {
		for _, p := range serverPaths {
			profiled := make(chan error, 1)
			go func() {
				profiled <- saveProfile(server.adminAddr, o.duration, filepath.Join(o.profile, profileName(o, p.name)))
			}()
			if _, err := measure(p, o.concurrency, o.duration, pids); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			if err := <-profiled; err != nil {
				return fmt.Errorf("profile %s: %w", p.name, err)
			}
		}
	}

	mode := "every call names another " + map[string]string{"get": "integration", "list": "project"}[o.op] + ", so every upstream body differs"
	if o.same {
		mode = "every call identical, every body differs: " + strconv.FormatBool(o.vary)
	}
	answer := len(newIntegrationBody(o.size).appendTo(nil, "read-accounts"))
	if o.op == "list" {
		one := newIntegrationBody(0).len("read-accounts")
		n := listLength(one, o.size)
		answer = n * one
		mode = fmt.Sprintf("a list of %d integrations; %s", n, mode)
	}
	fmt.Printf("%s, about %d bytes an answer, concurrency %d, %d rounds of %v per path, server flags %q\n%s\n\n",
		op.name, answer, o.concurrency, o.rounds, o.duration, o.serverArgs, mode)
	printResults(paths, results, o.rounds)

	if o.memory > 0 {
		server.cmd.Process.Kill()
		return memoryFigure(o, upstreamURL, op, serverPaths[0].name)
	}
	return nil
}

// printResults prints the table of the paths' results and their rates
// paired by round against the proxy's.
func printResults(paths []path, results []result, rounds int) {
	// The hop is the process between client and upstream: none, the proxy,
	// or the server. All four processes share the machine's cores, so the
	// client's and the upstream's CPU per call bound the rates too.
	fmt.Printf("%-17s %8s %9s %9s %10s %10s %10s   %s\n", "path", "calls/s", "p50", "p99",
		"hop CPU", "upstream", "client", "vs proxy (rate, hop CPU)")
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
		fmt.Printf("%-17s %8.0f %9v %9v %10v %10v %10v   %s\n", p.name, rate,
			percentile(r.latencies, 50), percentile(r.latencies, 99),
			hop.Round(time.Microsecond), perCall(2).Round(time.Microsecond), perCall(3).Round(time.Microsecond), ratio)
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
