package service

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/cache"
	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// gatedUpstream answers once released, counting requests and how many of
// them ended because the server gave up on them.
type gatedUpstream struct {
	requests atomic.Int32
	canceled atomic.Int32
	release  chan struct{}
	arrived  chan struct{}
}

func newGatedUpstream() *gatedUpstream {
	return &gatedUpstream{release: make(chan struct{}), arrived: make(chan struct{}, 64)}
}

func (g *gatedUpstream) handler(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	g.arrived <- struct{}{}
	select {
	case <-g.release:
		serveFile("../translate/testdata/integrations/full.json")(w, r)
	case <-r.Context().Done():
		g.canceled.Add(1)
	}
}

func TestCoalescing(t *testing.T) {
	t.Parallel()
	t.Run("identical calls share one request", func(t *testing.T) {
		t.Parallel()
		g := newGatedUpstream()
		f := newFixture(t, g.handler)
		const n = 20
		var wg sync.WaitGroup
		responses := make([]proto.Message, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				resp, err := f.clients[[]string{"connect", "grpc"}[i%2]].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k"))
				errs[i] = err
				if err == nil {
					responses[i] = resp.Msg
				}
			})
		}
		<-g.arrived
		waitForWaiters(t, f.service, getIntegrationKey(rest.Credentials{APIKey: "k"}, "p", "i"), n)
		close(g.release)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || !proto.Equal(responses[i], responses[0]) {
				t.Fatalf("call %d: %v", i, errs[i])
			}
		}
		if got := g.requests.Load(); got != 1 {
			t.Errorf("%d upstream requests for %d identical calls, want 1", got, n)
		}
	})
	t.Run("different credentials never share", func(t *testing.T) {
		t.Parallel()
		g := newGatedUpstream()
		f := newFixture(t, g.handler)
		var wg sync.WaitGroup
		for _, header := range [][]string{{"X-Api-Key", "a"}, {"X-Api-Key", "b"}, {"Authorization", "Bearer a"}} {
			wg.Go(func() {
				if _, err := f.clients["connect"].GetIntegration(context.Background(), request("p", "i", header...)); err != nil {
					t.Error(err)
				}
			})
		}
		for range 3 {
			<-g.arrived
		}
		close(g.release)
		wg.Wait()
		if got := g.requests.Load(); got != 3 {
			t.Errorf("%d upstream requests, want 3", got)
		}
	})
	t.Run("the first caller leaving does not cancel the others", func(t *testing.T) {
		t.Parallel()
		g := newGatedUpstream()
		f := newFixture(t, g.handler)
		leaderCtx, cancelLeader := context.WithCancel(context.Background())
		leader := make(chan error, 1)
		go func() {
			_, err := f.clients["connect"].GetIntegration(leaderCtx, request("p", "i", "X-Api-Key", "k"))
			leader <- err
		}()
		<-g.arrived
		follower := make(chan error, 1)
		go func() {
			_, err := f.clients["grpc"].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k"))
			follower <- err
		}()
		waitForWaiters(t, f.service, getIntegrationKey(rest.Credentials{APIKey: "k"}, "p", "i"), 2)
		cancelLeader()
		if err := <-leader; connect.CodeOf(err) != connect.CodeCanceled {
			t.Errorf("leader: %v", err)
		}
		close(g.release)
		if err := <-follower; err != nil {
			t.Errorf("follower: %v", err)
		}
		if g.requests.Load() != 1 || g.canceled.Load() != 0 {
			t.Errorf("requests %d, canceled %d", g.requests.Load(), g.canceled.Load())
		}
	})
	t.Run("the last caller leaving cancels the request", func(t *testing.T) {
		t.Parallel()
		g := newGatedUpstream()
		t.Cleanup(func() { close(g.release) })
		f := newFixture(t, g.handler)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := f.clients["connect"].GetIntegration(ctx, request("p", "i", "X-Api-Key", "k"))
			done <- err
		}()
		<-g.arrived
		cancel()
		<-done
		deadline := time.Now().Add(5 * time.Second)
		for g.canceled.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if g.canceled.Load() != 1 {
			t.Error("the upstream request was not cancelled")
		}
	})
	t.Run("a caller with a longer budget outlives the first caller's", func(t *testing.T) {
		t.Parallel()
		// The first request never answers; later ones answer at once.
		var requests atomic.Int32
		arrived := make(chan struct{}, 1)
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == 1 {
				arrived <- struct{}{}
				<-r.Context().Done()
				return
			}
			serveFile("../translate/testdata/integrations/full.json")(w, r)
		})
		short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		first := make(chan error, 1)
		go func() {
			_, err := f.clients["connect"].GetIntegration(short, request("p", "i", "X-Api-Key", "k"))
			first <- err
		}()
		<-arrived // the first caller's request is in flight: the second joins it
		long, cancelLong := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelLong()
		if _, err := f.clients["connect"].GetIntegration(long, request("p", "i", "X-Api-Key", "k")); err != nil {
			t.Errorf("the caller with the longer budget: %v", err)
		}
		if err := <-first; connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Errorf("the first caller: %v", err)
		}
		if requests.Load() != 2 {
			t.Errorf("%d upstream requests, want 2 (the shared one, then the longer caller's own)", requests.Load())
		}
	})
	t.Run("the callers outliving the first caller's budget share one new request", func(t *testing.T) {
		t.Parallel()
		// The upstream's transport holds each request until the test
		// releases it: the first fails then with its context's error, as
		// a request whose budget ran out does; the second answers.
		var requests atomic.Int32
		first, next := make(chan struct{}, 1), make(chan struct{}, 64)
		releaseFirst, releaseNext := make(chan struct{}), make(chan struct{})
		endFirst := sync.OnceFunc(func() { close(releaseFirst) })
		answerNext := sync.OnceFunc(func() { close(releaseNext) })
		t.Cleanup(endFirst)
		t.Cleanup(answerNext)
		body, err := os.ReadFile("../translate/testdata/integrations/full.json")
		if err != nil {
			t.Fatal(err)
		}
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if requests.Add(1) == 1 {
				first <- struct{}{}
				<-releaseFirst
				<-r.Context().Done()
				return nil, r.Context().Err()
			}
			next <- struct{}{}
			<-releaseNext
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
		})
		client, err := rest.New("http://upstream.invalid/v1", rest.WithHTTPClient(&http.Client{Transport: transport}))
		if err != nil {
			t.Fatal(err)
		}
		s := New(client, WithAPIKey("k"))
		call := func(ctx context.Context) error {
			_, err := s.callGetIntegration(ctx, &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}, rest.Credentials{})
			return err
		}
		key := getIntegrationKey(rest.Credentials{APIKey: "k"}, "p", "i")

		short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		impatient := make(chan error, 1)
		go func() { impatient <- call(short) }()
		<-first
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				errs[i] = call(ctx)
			})
		}
		waitForWaiters(t, s, key, n+1) // every caller, on the first request
		<-short.Done()
		endFirst() // the first request ends, out of time
		if err := <-impatient; connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Errorf("the impatient caller: %v", err)
		}
		<-next
		waitForWaiters(t, s, key, n) // every patient caller, on the second request
		answerNext()
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("patient caller %d: %v", i, err)
			}
		}
		if got := requests.Load(); got != 2 {
			t.Errorf("%d upstream requests, want 2 (the impatient caller's, then one for the %d others)", got, n)
		}
	})
	t.Run("a fetch that panics ends its flight", func(t *testing.T) {
		t.Parallel()
		var c coalescer
		key := getIntegrationKey(rest.Credentials{APIKey: "k"}, "p", "i")
		entered, release := make(chan struct{}), make(chan struct{})
		leader := make(chan any, 1)
		go func() {
			defer func() { leader <- recover() }()
			_, _ = c.do(context.Background(), key, nil, func(context.Context) (*codec.Message, error) {
				close(entered)
				<-release
				panic("broken")
			})
		}()
		<-entered
		waiter := make(chan error, 1)
		go func() {
			_, err := c.do(context.Background(), key, nil, func(context.Context) (*codec.Message, error) {
				return nil, errors.New("the waiter made a request of its own")
			})
			waiter <- err
		}()
		for c.waiters(key) < 2 {
			time.Sleep(time.Millisecond)
		}
		close(release)
		if v := <-leader; v != "broken" {
			t.Errorf("the first caller recovered %v, want its panic", v)
		}
		select {
		case err := <-waiter:
			if err == nil || !strings.Contains(err.Error(), "panicked") {
				t.Errorf("the waiter: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the waiter still waits for the flight whose fetch panicked")
		}
		if _, err := c.do(context.Background(), key, nil, func(context.Context) (*codec.Message, error) {
			return &codec.Message{Message: &ampersandv1.GetIntegrationResponse{}}, nil
		}); err != nil {
			t.Errorf("a later call: %v", err)
		}
	})
	t.Run("calls one after another each make a request", func(t *testing.T) {
		t.Parallel()
		var requests atomic.Int32
		f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			serveFile("../translate/testdata/integrations/full.json")(w, r)
		})
		for range 3 {
			if _, err := f.clients["connect"].GetIntegration(context.Background(), request("p", "i", "X-Api-Key", "k")); err != nil {
				t.Fatal(err)
			}
		}
		if requests.Load() != 3 {
			t.Errorf("%d upstream requests, want 3", requests.Load())
		}
	})
}

// waiters returns how many calls wait for the flight of key.
func (c *coalescer) waiters(key cache.Key) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}

// waitForWaiters waits until n calls wait for the flight of key.
func waitForWaiters(t *testing.T, s *Service, key cache.Key, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.calls.mu.Lock()
		f := s.calls.flights[key]
		waiters := 0
		if f != nil {
			waiters = f.waiters
		}
		s.calls.mu.Unlock()
		if waiters >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("fewer than %d calls joined the shared request", n)
}
