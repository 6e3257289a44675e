package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTracingSpanPerAttempt calls an upstream that answers 503 and then
// 200: the call's span gets one client span per attempt, the second marked
// as a resend, with no credential in any attribute; the upstream gets a
// traceparent naming the attempt's span only when propagation is on.
func TestTracingSpanPerAttempt(t *testing.T) {
	t.Parallel()
	const key, jwt = "key-4b1d9e", "Bearer jwt-77c0aa"
	for _, propagate := range []bool{false, true} {
		t.Run(fmt.Sprintf("propagate=%v", propagate), func(t *testing.T) {
			t.Parallel()
			exporter := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
			opts := []Option{WithTracing(tp), WithRetryPolicy(fastRetries)}
			if propagate {
				opts = append(opts, WithTracePropagation(propagation.TraceContext{}))
			}
			var calls atomic.Int32
			var mu sync.Mutex
			var traceparents []string
			client, mux := setup(t)
			mux.HandleFunc("GET /v1/projects/p/integrations/i", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				traceparents = append(traceparents, r.Header.Get("Traceparent"))
				mu.Unlock()
				if calls.Add(1) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, minimalIntegration)
			})
			// The stand-in's client again, with the options of this case.
			client, err := New(client.base.String(), append(opts, WithHTTPClient(client.httpClient))...)
			if err != nil {
				t.Fatal(err)
			}

			ctx, parent := tp.Tracer("test").Start(context.Background(), "call")
			if _, err := client.Do(ctx, Credentials{APIKey: key, Authorization: jwt}, getIntegration("p", "i")); err != nil {
				t.Fatal(err)
			}
			parent.End()

			spans := exporter.GetSpans()
			var attempts tracetest.SpanStubs
			for _, s := range spans {
				if s.SpanKind == trace.SpanKindClient {
					attempts = append(attempts, s)
				}
			}
			if len(attempts) != 2 {
				t.Fatalf("%d client spans, want 2 (one per attempt): %v", len(attempts), spans)
			}
			for i, s := range attempts {
				if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
					t.Errorf("attempt %d is not a child of the call's span", i+1)
				}
				if s.Name != "GET /v1/projects/{projectIdOrName}/integrations/{integrationIdOrName}" {
					t.Errorf("attempt %d is named %q", i+1, s.Name)
				}
				attrs := attributeMap(s.Attributes)
				wantStatus, wantResend := int64(503), int64(0)
				if i == 1 {
					wantStatus, wantResend = 200, 1
				}
				if got := attrs["http.response.status_code"].AsInt64(); got != wantStatus {
					t.Errorf("attempt %d: status %d, want %d", i+1, got, wantStatus)
				}
				if got := attrs["http.request.resend_count"].AsInt64(); got != wantResend {
					t.Errorf("attempt %d: resend count %d, want %d", i+1, got, wantResend)
				}
				if got := attrs["url.full"].AsString(); !strings.HasSuffix(got, "/v1/projects/p/integrations/i") {
					t.Errorf("attempt %d: url.full %q", i+1, got)
				}
				for k, v := range attrs {
					if strings.Contains(v.Emit(), "key-4b1d9e") || strings.Contains(v.Emit(), "jwt-77c0aa") || strings.Contains(string(k), "header") {
						t.Errorf("attempt %d: attribute %s=%s", i+1, k, v.Emit())
					}
				}
			}
			if attempts[0].Status.Code != codes.Error || attempts[0].Status.Description != "503" || attributeMap(attempts[0].Attributes)["error.type"].AsString() != "503" {
				t.Errorf("the failed attempt's status: %+v", attempts[0].Status)
			}
			if attempts[1].Status.Code != codes.Unset {
				t.Errorf("the successful attempt's status: %+v", attempts[1].Status)
			}

			mu.Lock()
			defer mu.Unlock()
			for i, got := range traceparents {
				var want string
				if propagate {
					sc := attempts[i].SpanContext
					want = fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID())
				}
				if got != want {
					t.Errorf("attempt %d sent traceparent %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

// TestTracingErrorTypes checks the error.type of attempts that got no
// answer, or an answer that is not valid.
func TestTracingErrorTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&Error{StatusCode: 404}, "404"},
		{fmt.Errorf("call upstream: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("call upstream: %w", context.Canceled), "canceled"},
		{&InvalidResponseError{StatusCode: 200, Reason: "x"}, "invalid_response"},
		{&UnreachableError{Err: errors.New("refused")}, "unreachable"},
		{errors.New("other"), "_OTHER"},
	}
	for _, tt := range tests {
		if got := errorType(tt.err); got != tt.want {
			t.Errorf("errorType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestNoTracingByDefault checks that a client without WithTracing makes no
// span and sends no trace context, even inside a traced call.
func TestNoTracingByDefault(t *testing.T) {
	t.Parallel()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	client, mux := setup(t)
	var traceparent atomic.Value
	mux.HandleFunc("GET /v1/projects/p/integrations/i", func(w http.ResponseWriter, r *http.Request) {
		traceparent.Store(r.Header.Get("Traceparent"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, minimalIntegration)
	})
	ctx, parent := tp.Tracer("test").Start(context.Background(), "call")
	if _, err := client.Do(ctx, Credentials{APIKey: "k"}, getIntegration("p", "i")); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if n := len(exporter.GetSpans()); n != 1 {
		t.Errorf("%d spans, want only the caller's", n)
	}
	if got := traceparent.Load(); got != "" {
		t.Errorf("traceparent %q sent upstream", got)
	}
}

func attributeMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}
