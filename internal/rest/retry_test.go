package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fastRetries keeps the shape of the default policy with short waits.
var fastRetries = RetryPolicy{MaxAttempts: 3, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxHint: 10 * time.Second}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	p := DefaultRetryPolicy
	for attempt := 1; attempt <= 40; attempt++ {
		for range 200 {
			if d := p.backoff(attempt); d < p.MinWait || d > p.MaxWait {
				t.Fatalf("backoff(%d) = %v, outside [%v, %v]", attempt, d, p.MinWait, p.MaxWait)
			}
		}
	}
	if d := p.backoff(1); d > 200*time.Millisecond {
		t.Errorf("first backoff %v, want at most 200ms", d)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	background := context.Background()
	status := func(code int) error { return &Error{StatusCode: code} }
	withHint := func(code int, d time.Duration) error {
		return &Error{StatusCode: code, RetryAfter: d, HasRetryAfter: true}
	}
	withProblemHint := func(code int, at time.Time) error {
		return &Error{StatusCode: code, RetryAfter: time.Hour, HasRetryAfter: true,
			Problem: &Problem{ProblemDetails: ProblemDetails{RetryAfter: at.Format(time.RFC3339Nano)}}}
	}
	tests := []struct {
		name      string
		ctx       context.Context
		attempt   int
		err       error
		wantRetry bool
		minWait   time.Duration
	}{
		{"success", background, 1, nil, false, 0},
		{"refused", background, 1, &UnreachableError{Err: errors.New("refused")}, true, 100 * time.Millisecond},
		{"408", background, 1, status(408), true, 0},
		{"429", background, 1, status(429), true, 0},
		{"502", background, 2, status(502), true, 0},
		{"503", background, 1, status(503), true, 0},
		{"504", background, 1, status(504), true, 0},
		{"third attempt", background, 3, status(503), false, 0},
		{"500", background, 1, status(500), false, 0},
		{"404", background, 1, status(404), false, 0},
		{"invalid body", background, 1, &InvalidResponseError{StatusCode: 200}, false, 0},
		{"canceled", canceled, 1, status(503), false, 0},
		{"context error", background, 1, context.Canceled, false, 0},
		{"near Retry-After", background, 1, withHint(429, time.Second), true, time.Second},
		{"far Retry-After", background, 1, withHint(429, 11*time.Second), false, 0},
		{"Retry-After past the deadline", short, 1, withHint(503, time.Second), false, 0},
		{"problem retryAfter wins", background, 1, withProblemHint(503, time.Now().Add(3*time.Second)), true, 2 * time.Second},
	}
	for _, tt := range tests {
		wait, retry, reason := DefaultRetryPolicy.decide(tt.ctx, tt.attempt, tt.err)
		if retry != tt.wantRetry || (retry && wait < tt.minWait) {
			t.Errorf("%s: decide = %v, %v (%s); want retry %v after at least %v", tt.name, wait, retry, reason, tt.wantRetry, tt.minWait)
		}
		if reason == "" {
			t.Errorf("%s: no reason", tt.name)
		}
	}
}

// sequence serves the given handlers in turn, the last one for ever after,
// to a client that retries quickly and reads answers of up to 1 KiB.
func sequence(t *testing.T, handlers ...http.HandlerFunc) (*Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		handlers[min(n, len(handlers))-1](w, r)
	}))
	t.Cleanup(server.Close)
	client, err := New(server.URL, WithRetryPolicy(fastRetries), WithMaxBodySize(1024))
	if err != nil {
		t.Fatal(err)
	}
	return client, &calls
}

func statusHandler(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

func okHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, minimalIntegration)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handlers  []http.HandlerFunc
		wantErr   bool
		wantCalls int32
		minTime   time.Duration
	}{
		{"transient 503 then 200", []http.HandlerFunc{statusHandler(503), okHandler}, false, 2, 0},
		{"502 504 then 200", []http.HandlerFunc{statusHandler(502), statusHandler(504), okHandler}, false, 3, 0},
		{"503 for ever", []http.HandlerFunc{statusHandler(503)}, true, 3, 0},
		{"429 with a near Retry-After", []http.HandlerFunc{statusHandler(429, "Retry-After", "1"), okHandler}, false, 2, time.Second},
		{"429 with a far Retry-After", []http.HandlerFunc{statusHandler(429, "Retry-After", "60"), okHandler}, true, 1, 0},
		{"500 is not retried", []http.HandlerFunc{statusHandler(500), okHandler}, true, 1, 0},
		{"404 is not retried", []http.HandlerFunc{statusHandler(404), okHandler}, true, 1, 0},
		{"a body over the limit is not retried", []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 2048)) }, okHandler}, true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, calls := sequence(t, tt.handlers...)
			start := time.Now()
			_, err := client.Do(context.Background(), Credentials{APIKey: "k"}, getIntegration("p", "i"))
			elapsed := time.Since(start)
			if (err != nil) != tt.wantErr || calls.Load() != tt.wantCalls {
				t.Errorf("err = %v after %d calls; want error %v after %d", err, calls.Load(), tt.wantErr, tt.wantCalls)
			}
			if elapsed < tt.minTime {
				t.Errorf("took %v, want at least %v (the Retry-After)", elapsed, tt.minTime)
			}
		})
	}
}

func TestRetryNeverWaitsPastTheDeadline(t *testing.T) {
	t.Parallel()
	client, calls := sequence(t, statusHandler(503, "Retry-After", "5"), okHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := client.Do(ctx, Credentials{APIKey: "k"}, getIntegration("p", "i"))
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 || calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls", err, calls.Load())
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %v: a wait past the deadline must not be started", elapsed)
	}
}

// countingTransport counts the round trips that reach it.
type countingTransport struct {
	calls atomic.Int32
	next  http.RoundTripper
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(req)
}

// TestRetriesConnectionFailures checks that a refused connection is tried
// again only when the call may be retried: a POST that may have reached
// the upstream is never sent twice.
func TestRetriesConnectionFailures(t *testing.T) {
	t.Parallel()
	server := httptest.NewServer(http.NotFoundHandler())
	url := server.URL
	server.Close()
	post := Call{Method: http.MethodPost, Path: "/projects/p/integrations", Body: []byte(`{}`)}
	tests := []struct {
		name         string
		call         Call
		wantAttempts int32
		wantReasons  []string
	}{
		{"GET", getIntegration("p", "i"), 3, []string{"connection failure", "connection failure", "attempts exhausted"}},
		{"POST", post, 1, []string{"method not retried"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			transport := &countingTransport{next: NewTransport()}
			client, err := New(url, WithHTTPClient(&http.Client{Transport: transport}), WithRetryPolicy(fastRetries))
			if err != nil {
				t.Fatal(err)
			}
			trace := &Trace{}
			_, err = client.Do(WithTrace(context.Background(), trace), Credentials{APIKey: "k"}, tt.call)
			var unreachable *UnreachableError
			if !errors.As(err, &unreachable) || transport.calls.Load() != tt.wantAttempts {
				t.Errorf("err = %v after %d attempts, want unreachable after %d", err, transport.calls.Load(), tt.wantAttempts)
			}
			if got := retryReasons(trace); !slices.Equal(got, tt.wantReasons) {
				t.Errorf("retry reasons %q, want %q", got, tt.wantReasons)
			}
		})
	}
}

// TestDoRetriesOnlyWhatMayBeRetried checks that a call with Retry set (a
// GET, PUT or DELETE) is tried again, its body resent whole, after a
// retryable failure, and that one without (a POST or PATCH) is tried once,
// its attempt saying why it was not retried.
func TestDoRetriesOnlyWhatMayBeRetried(t *testing.T) {
	t.Parallel()
	body := []byte(`{"name":"read-accounts"}`)
	path := "/projects/p/integrations/i"
	tests := []struct {
		name        string
		call        Call
		first       http.HandlerFunc
		wantErr     bool
		wantReasons []string
	}{
		{"GET 503", getIntegration("p", "i"), statusHandler(503), false, []string{"status 503 Service Unavailable", "succeeded"}},
		{"PUT 503", Call{Method: http.MethodPut, Path: path, Body: body, Retry: true}, statusHandler(503), false, []string{"status 503 Service Unavailable", "succeeded"}},
		{"DELETE 503", Call{Method: http.MethodDelete, Path: path, Retry: true}, statusHandler(503), false, []string{"status 503 Service Unavailable", "succeeded"}},
		{"POST 503", Call{Method: http.MethodPost, Path: path, Body: body}, statusHandler(503), true, []string{"method not retried"}},
		{"PATCH 503", Call{Method: http.MethodPatch, Path: path, Body: body}, statusHandler(503), true, []string{"method not retried"}},
		{"POST 429 with a near Retry-After", Call{Method: http.MethodPost, Path: path, Body: body}, statusHandler(429, "Retry-After", "1"), true, []string{"method not retried"}},
		{"POST 500", Call{Method: http.MethodPost, Path: path, Body: body}, statusHandler(500), true, []string{"status not retryable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []string
			record := func(next http.HandlerFunc) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					got, _ := io.ReadAll(r.Body)
					mu.Lock()
					seen = append(seen, r.Method+" "+r.URL.EscapedPath()+" "+string(got))
					mu.Unlock()
					next(w, r)
				}
			}
			client, calls := sequence(t, record(tt.first), record(okHandler))
			trace := &Trace{}
			_, err := client.Do(WithTrace(context.Background(), trace), Credentials{APIKey: "k"}, tt.call)
			if (err != nil) != tt.wantErr || int(calls.Load()) != len(tt.wantReasons) {
				t.Errorf("err = %v after %d calls; want error %v after %d", err, calls.Load(), tt.wantErr, len(tt.wantReasons))
			}
			if got := retryReasons(trace); !slices.Equal(got, tt.wantReasons) {
				t.Errorf("retry reasons %q, want %q", got, tt.wantReasons)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, got := range seen {
				if want := tt.call.Method + " " + tt.call.Path + " " + string(tt.call.Body); got != want {
					t.Errorf("attempt %d sent %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

// retryReasons returns the RetryReason of each of trace's attempts.
func retryReasons(trace *Trace) []string {
	var reasons []string
	for _, a := range trace.Attempts {
		reasons = append(reasons, a.RetryReason)
	}
	return reasons
}
