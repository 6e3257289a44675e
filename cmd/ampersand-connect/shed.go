package main

import (
	"bufio"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// callBytes is the memory one call may hold at worst, for the default of
// -max-in-flight: an upstream body of up to 16 MiB, the message decoded
// from it (about 2.5 times the JSON), its encoding for the client, and the
// garbage the collector lets grow beside them (GOGC=100: as much again as
// is live). With 8 calls for 15 MiB integrations in flight, the server's
// peak RSS was 1494 MiB, about 185 MiB a call (go run ./cmd/loadtest
// -overload, README.md).
const callBytes = 192 << 20

// The bounds of the default of -max-in-flight.
const (
	minDefaultInFlight = 4
	maxDefaultInFlight = 1024
)

// defaultMaxInFlight is the bound of calls in flight that fits the memory
// the server may use (see memoryLimit) with callBytes a call, between
// minDefaultInFlight and maxDefaultInFlight; and where the memory's bound
// came from.
func defaultMaxInFlight() (int, string) {
	limit, source := memoryLimit()
	return int(min(max(limit/callBytes, minDefaultInFlight), maxDefaultInFlight)), source
}

// memoryLimit returns the memory the server may use: GOMEMLIMIT when set,
// else its container's limit (cgroup v2, then v1), else the machine's
// memory; and which it was.
func memoryLimit() (int64, string) {
	if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64 {
		return limit, "GOMEMLIMIT"
	}
	for _, file := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		// "max", or a v1 limit near MaxInt64, is no limit.
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && limit < 1<<60 {
			return limit, "cgroup"
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			if value, ok := strings.CutPrefix(scanner.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64); err == nil {
					return kb << 10, "MemTotal"
				}
			}
		}
	}
	return 4 << 30, "assumed"
}
