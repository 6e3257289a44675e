package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// server is the server as main runs it, in process.
type server struct {
	addr, grpcAddr, adminAddr string
	logs                      *syncBuffer
}

// runServer runs the server in process, with args and the environment
// env, until the test ends; it returns once the listeners are open.
func runServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	s := &server{logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	cfg, err := parseConfig(args, func(key string) string { return env[key] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- serve(ctx, cfg, noTracing(), slog.New(slog.NewJSONHandler(s.logs, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("the server did not stop")
		}
	})
	wantGRPC := slices.Contains(args, "-grpc-addr")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for line := range strings.Lines(s.logs.String()) {
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) != nil {
				continue
			}
			switch entry.Msg {
			case "listening":
				s.addr = entry.Addr
			case "gRPC listening":
				s.grpcAddr = entry.Addr
			case "admin listening":
				s.adminAddr = entry.Addr
			}
		}
		if s.addr != "" && (s.grpcAddr != "" || !wantGRPC) {
			return s
		}
		select {
		case err := <-done:
			t.Fatalf("the server stopped: %v\n%s", err, s.logs.String())
		default:
		}
	}
	t.Fatalf("the server did not start:\n%s", s.logs.String())
	return nil
}

// calls returns the log lines of calls, decoded.
func (s *server) calls() []logLine {
	var lines []logLine
	for line := range strings.Lines(s.logs.String()) {
		var l logLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "call" {
			lines = append(lines, l)
		}
	}
	return lines
}

type logLine struct {
	Level, Msg, Code, Error string
}
