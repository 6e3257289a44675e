package translate

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/ampersand-connect/gateway/internal/demo"
)

// TestPooledMarksBounded: a body of ordinary operation logs, whose
// encoding is under 4 MiB but which has many nested messages, leaves no
// pooled transcoder with marks beyond maxPooledBytes (found by a review).
func TestPooledMarksBounded(t *testing.T) {
	m := methodNamed(t, "ListOperationLogs")
	body := repeatedJSON("[", "]", 20000, func(int) string {
		return `{"timestamp":"2023-07-13T21:34:44Z","severity":"INFO","message":{"a":1,"b":"x","c":[1,2],"d":{"e":null}}}`
	})
	wire, ok := transcodeOnce(m, body, "application/json")
	if !ok {
		t.Fatal("not transcoded")
	}
	tr := pooled(t)
	marks := len(tr.w.marks) * int(unsafe.Sizeof(mark{}))
	t.Logf("body %d B, wire %d B; pooled: out %d B, marks %d B", len(body), len(wire), len(tr.w.buf), marks)
	if marks > maxPooledBytes {
		t.Errorf("a pooled transcoder keeps %d B of marks, beyond maxPooledBytes (%d)", marks, maxPooledBytes)
	}
}

// repeatedJSON is an array or object, between open and close, of n
// elements or members, item(i) each.
func repeatedJSON(open, close string, n int, item func(i int) string) []byte {
	var b strings.Builder
	b.WriteString(open)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(item(i))
	}
	b.WriteString(close)
	return []byte(b.String())
}

// TestPooledKeysBounded: a map of messages with many keys leaves no grown
// set of keys (which clear would not shrink) in the pool (found by a
// review).
func TestPooledKeysBounded(t *testing.T) {
	m := methodNamed(t, "ListProviders")
	body := repeatedJSON("{", "}", 200000, func(i int) string { return fmt.Sprintf(`"p%d":{}`, i) })
	var before, after runtime.MemStats
	wire, ok := transcodeOnce(m, body, "application/json")
	if !ok {
		t.Fatal("not transcoded")
	}
	tr := pooled(t)
	runtime.GC()
	runtime.ReadMemStats(&before)
	keys := 0
	for _, k := range tr.keys {
		keys = max(keys, len(k))
	}
	t.Logf("pooled: %d keys maps, the largest held %d keys (cleared); marks %d B", len(tr.keys), keys, len(tr.w.marks)*int(unsafe.Sizeof(mark{})))
	tr.keys = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tr)
	t.Logf("body %d B, wire %d B; dropping the pooled keys maps freed %d B", len(body), len(wire), int64(before.HeapAlloc)-int64(after.HeapAlloc))
	if freed := int64(before.HeapAlloc) - int64(after.HeapAlloc); freed > maxPooledBytes {
		t.Errorf("a pooled transcoder kept %d B in keys maps, beyond maxPooledBytes (%d)", freed, maxPooledBytes)
	}
}

// pooled takes from the pool the transcoder the last transcoding put
// back (the goroutine's P's private one): the one with the largest marks.
func pooled(t *testing.T) *transcoder {
	var best *transcoder
	var taken []*transcoder
	for range 8 {
		tr := transcoders.Get().(*transcoder)
		taken = append(taken, tr)
		if best == nil || len(tr.w.marks) > len(best.w.marks) {
			best = tr
		}
	}
	return best
}

// TestTranscodeConcurrently: many goroutines transcode good and
// given-up bodies of one method at once, through Transcode's give-up
// accounting and the pool: each transcoding is the one made alone.
func TestTranscodeConcurrently(t *testing.T) {
	m := methodNamed(t, "GetIntegration")
	good, err := os.ReadFile("testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile("testdata/integrations/unknown.json")
	if err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{good, demo.Sized(3000), bad, demo.Sized(30000)}
	want := make([][]byte, len(bodies))
	for i, b := range bodies {
		want[i], _ = transcodeOnce(m, b, "application/json")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(bodies)
				got, ok := m.Transcode(bodies[k], "application/json")
				if ok && !bytes.Equal(got, want[k]) {
					t.Errorf("body %d: transcoded differently", k)
					return
				}
				if ok && want[k] == nil {
					t.Errorf("body %d: transcoded, alone given up", k)
					return
				}
			}
		})
	}
	wg.Wait()
}
