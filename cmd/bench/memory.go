package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// memoryFigure starts a fresh server in front of upstreamURL and drives the
// server path named pathName with o.memory calls in flight for five rounds'
// length, then prints the server's resident memory (idle, the largest seen,
// and the kernel's high-water mark) and its heap allocations per call (from
// the Go runtime's counters on /metrics). Calls the server refuses for load
// are counted apart; any other failure ends the run.
func memoryFigure(o options, upstreamURL string, op operation, pathName string) error {
	server, err := startServer(o.server, upstreamURL, o.serverArgs)
	if err != nil {
		return err
	}
	defer server.cmd.Process.Kill()
	pid := server.cmd.Process.Pid
	http1, h2c := clients(o.memory)
	numbers := &calls{same: o.same}
	paths := rawPaths(http1, h2c, "http://"+server.addr, "http://"+server.grpcAddr, op, numbers.next)
	i := slices.IndexFunc(paths, func(p path) bool { return p.name == pathName })
	if i < 0 {
		return fmt.Errorf("no server path %q", pathName)
	}
	p := paths[i]
	if err := p.call(context.Background()); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	idle, err := procStatus(pid, "VmRSS")
	if err != nil {
		return err
	}
	before, err := runtimeCounters(server.adminAddr)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*o.duration)
	defer cancel()
	var served, shed atomic.Int64
	var failure atomic.Value
	var peak atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for ctx.Err() == nil {
			if rss, err := procStatus(pid, "VmRSS"); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for range o.memory {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := p.call(context.Background())
				var status *statusError
				switch {
				case err == nil:
					served.Add(1)
				case errors.As(err, &status) && status.shed():
					shed.Add(1)
				default:
					failure.CompareAndSwap(nil, err)
					cancel()
				}
			}
		})
	}
	wg.Wait()
	<-sampled
	if err, _ := failure.Load().(error); err != nil {
		return fmt.Errorf("%s with %d in flight: %w", p.name, o.memory, err)
	}
	after, err := runtimeCounters(server.adminAddr)
	if err != nil {
		return err
	}
	highWater, err := procStatus(pid, "VmHWM")
	if err != nil {
		return err
	}
	// Allocations are divided among the calls served: a refused call
	// allocates next to nothing.
	n := max(served.Load(), 1)
	const mib = 1 << 20
	fmt.Printf("\nmemory: %s, %d calls in flight for %v on a fresh server (flags %q): %d served, %d refused for load\n",
		p.name, o.memory, 5*o.duration, o.serverArgs, served.Load(), shed.Load())
	fmt.Printf("server RSS: idle %d MiB, largest seen %d MiB, high-water mark %d MiB\n", idle/mib, peak.Load()/mib, highWater/mib)
	fmt.Printf("server heap allocations per call served: %.0f objects, %.2f MiB\n",
		(after["go_memstats_mallocs_total"]-before["go_memstats_mallocs_total"])/float64(n),
		(after["go_memstats_alloc_bytes_total"]-before["go_memstats_alloc_bytes_total"])/float64(n)/mib)
	return nil
}

// procStatus reads a size field of /proc/pid/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if value, ok := strings.CutPrefix(lines.Text(), field+":"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			return kib << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// runtimeCounters reads the Go runtime's allocation counters from the
// server's /metrics.
func runtimeCounters(adminAddr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	counters := map[string]float64{}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		if ok && (name == "go_memstats_mallocs_total" || name == "go_memstats_alloc_bytes_total") {
			if counters[name], err = strconv.ParseFloat(value, 64); err != nil {
				return nil, fmt.Errorf("/metrics: %s: %w", name, err)
			}
		}
	}
	if len(counters) != 2 {
		return nil, fmt.Errorf("/metrics at %s has no allocation counters", adminAddr)
	}
	return counters, lines.Err()
}

// saveProfile saves a CPU profile of the server of about d to file.
func saveProfile(adminAddr string, d time.Duration, file string) error {
	seconds := max(1, int(d.Seconds()))
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", adminAddr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// profileName names a path's profile file by the run's operation and size.
func profileName(o options, pathName string) string {
	name := strings.NewReplacer(" ", "-", "+", "-").Replace(strings.ToLower(pathName))
	return fmt.Sprintf("%s-%d-%s.pprof", o.op, o.size, name)
}
