package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedWrites records each write it gets.
type lockedWrites struct {
	mu     sync.Mutex
	writes []string
}

func (l *lockedWrites) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, string(p))
	return len(p), nil
}

func (l *lockedWrites) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.writes...)
}

func TestBatchWriter(t *testing.T) {
	t.Parallel()
	t.Run("a batch is written after the delay", func(t *testing.T) {
		t.Parallel()
		out := &lockedWrites{}
		b := newBatchWriter(out, 1<<10, 20*time.Millisecond)
		fmt.Fprintln(b, "one")
		fmt.Fprintln(b, "two")
		if w := out.get(); len(w) != 0 {
			t.Fatalf("written at once: %q", w)
		}
		for deadline := time.Now().Add(5 * time.Second); len(out.get()) == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if w := out.get(); len(w) != 1 || w[0] != "one\ntwo\n" {
			t.Fatalf("writes = %q, want one of both lines", w)
		}
		fmt.Fprintln(b, "three") // a new batch, with a timer of its own
		for deadline := time.Now().Add(5 * time.Second); len(out.get()) == 1 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if w := out.get(); len(w) != 2 || w[1] != "three\n" {
			t.Fatalf("writes = %q", w)
		}
	})
	t.Run("a full batch is written at once", func(t *testing.T) {
		t.Parallel()
		out := &lockedWrites{}
		b := newBatchWriter(out, 10, time.Hour)
		fmt.Fprintln(b, "12345")
		fmt.Fprintln(b, "67890")
		if w := out.get(); len(w) != 1 || w[0] != "12345\n67890\n" {
			t.Fatalf("writes = %q", w)
		}
	})
	t.Run("Close flushes, then writes go through", func(t *testing.T) {
		t.Parallel()
		out := &lockedWrites{}
		b := newBatchWriter(out, 1<<10, time.Hour)
		fmt.Fprintln(b, "last")
		b.Close()
		fmt.Fprintln(b, "after")
		if w := out.get(); len(w) != 2 || w[0] != "last\n" || w[1] != "after\n" {
			t.Fatalf("writes = %q", w)
		}
	})
	t.Run("concurrent lines stay whole and in full", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		b := newBatchWriter(&out, 100, time.Millisecond)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 200 {
					fmt.Fprintf(b, "writer %d line %d\n", i, j)
				}
			})
		}
		wg.Wait()
		b.Close()
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 8*200 {
			t.Fatalf("%d lines, want %d", len(lines), 8*200)
		}
		for _, line := range lines {
			var i, j int
			if n, _ := fmt.Sscanf(line, "writer %d line %d", &i, &j); n != 2 {
				t.Fatalf("broken line %q", line)
			}
		}
	})
}
