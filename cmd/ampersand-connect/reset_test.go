package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// TestClientResetIsCanceled resets streams at once, thousands in a burst,
// on both listeners of the server as main runs it, with an upstream that
// answers slowly: every call is logged once at most, as canceled, at INFO.
func TestClientResetIsCanceled(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(up.Close)
	s := runServer(t, map[string]string{"AMPERSAND_API_KEY": "k", "AMPERSAND_API_URL": up.URL}, "-grpc-addr", "127.0.0.1:0")
	const streams = 3000
	request := []byte("\x0a\x01p\x12\x01i") // project "p", integration "i"
	for _, addr := range []string{s.addr, s.grpcAddr} {
		c := dialRaw(t, addr)
		for range streams {
			id, err := c.request(ampersandv1connect.IntegrationServiceGetIntegrationProcedure)
			if err != nil {
				break // the connection was closed, its budget of resets spent
			}
			_ = c.message(id, request)
			_ = c.reset(id)
		}
	}
	// A stream reset before its handler started has no call, and no line.
	// Wait until the lines stop coming.
	lines := s.calls()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		more := s.calls()
		if len(more) == len(lines) {
			break
		}
		lines = more
	}
	if len(lines) == 0 || len(lines) > 2*streams {
		t.Errorf("%d call lines for %d streams: at most one a stream", len(lines), 2*streams)
	}
	wrong := map[string]int{}
	for _, l := range lines {
		if l.Code != "canceled" || l.Level != "INFO" {
			wrong[l.Level+" "+l.Code+" "+l.Error]++
		}
	}
	if len(wrong) > 0 {
		t.Errorf("calls not logged as canceled at INFO: %v", wrong)
	}
}

// TestCallCode: the context's own error, which connect-go returns for a
// call reset before its handler ran, is canceled, not unknown.
func TestCallCode(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	observeCall(context.Background(), logger, newMetrics(), "/p", "grpc", context.Canceled, 0, &rest.Trace{})
	observeCall(canceled, logger, newMetrics(), "/p", "grpc", errors.New("client disconnected"), 0, &rest.Trace{})
	observeCall(context.Background(), logger, newMetrics(), "/p", "grpc", io.ErrUnexpectedEOF, 0, &rest.Trace{})
	got := logs.String()
	if strings.Count(got, `"level":"INFO","msg":"call","procedure":"/p","protocol":"grpc","code":"canceled"`) != 2 ||
		!strings.Contains(got, `"level":"ERROR","msg":"call","procedure":"/p","protocol":"grpc","code":"unknown"`) {
		t.Errorf("logs:\n%s", got)
	}
}
