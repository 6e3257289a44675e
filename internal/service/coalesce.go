package service

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ampersand-connect/gateway/internal/cache"
	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// newCallKey identifies a call by what decides its answer: the credentials
// the upstream sees and the REST call (its path and query), or the caller's
// project. It is a hash (see [cache.NewKey]), so that no credential is kept
// in the clear as a map key, and so that callers with different credentials
// never share an answer.
func newCallKey(creds rest.Credentials, parts ...string) cache.Key {
	return cache.NewKey(append([]string{creds.APIKey, creds.Authorization}, parts...)...)
}

// fetchFunc makes one call's upstream work, with ctx as its budget.
type fetchFunc func(ctx context.Context) (*codec.Message, error)

// coalescer makes identical concurrent calls share one upstream request.
// The shared request is detached from any one caller's cancellation: its
// budget is the first caller's (its deadline, or the service's upstream
// timeout), and it is cancelled only when every caller waiting for it has
// gone. The callers whose budgets outlive a shared request that ran out of
// time share a new one: one impatient caller does not make each of the
// others call the upstream alone.
type coalescer struct {
	mu      sync.Mutex
	flights map[cache.Key]*flight
}

type flight struct {
	done    chan struct{}
	resp    *codec.Message
	err     error
	trace   rest.Trace
	waiters int
	cancel  context.CancelFunc
}

// do returns the answer of fetch for key, sharing it with the identical
// calls in flight. ctx is the caller's, with its budget already set; cause
// is what ctx's deadline, if it ends the budget, will have as its cause.
//
// The first caller makes the request in its own goroutine (no goroutine is
// started per call); when its context ends it stops counting as a waiter,
// so the request goes on for the others, or is cancelled if none is left.
func (c *coalescer) do(ctx context.Context, key cache.Key, cause error, fetch fetchFunc) (*codec.Message, error) {
	c.mu.Lock()
	if c.flights == nil {
		c.flights = map[cache.Key]*flight{}
	}
	if f, shared := c.flights[key]; shared {
		f.waiters++
		c.mu.Unlock()
		return c.wait(ctx, key, f, cause, fetch)
	}
	// Detached from the caller's cancellation, with the caller's budget.
	var flightCtx context.Context
	var cancel context.CancelFunc
	if deadline, ok := ctx.Deadline(); ok {
		flightCtx, cancel = context.WithDeadlineCause(context.WithoutCancel(ctx), deadline, cause)
	} else {
		flightCtx, cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
	c.flights[key] = f
	c.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { c.leave(key, f) })
	c.run(key, f, rest.WithTrace(flightCtx, &f.trace), fetch)
	if stop() {
		c.leave(key, f)
	}
	if trace := rest.TraceFrom(ctx); trace != nil {
		trace.Attempts = append(trace.Attempts, f.trace.Attempts...)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("make a shared upstream call: %w", ctx.Err())
	}
	return f.resp, f.err
}

// wait waits for a flight another caller started.
func (c *coalescer) wait(ctx context.Context, key cache.Key, f *flight, cause error, fetch fetchFunc) (*codec.Message, error) {
	select {
	case <-f.done:
		c.leave(key, f)
		if trace := rest.TraceFrom(ctx); trace != nil {
			trace.Attempts = append(trace.Attempts, f.trace.Attempts...)
		}
		if ctx.Err() == nil && isContextError(f.err) {
			// The shared request ran out of its first caller's budget;
			// this caller still has time of its own. The first such
			// caller starts a new shared request, and the others join
			// it (the flight is out of the map before done is closed).
			return c.do(ctx, key, cause, fetch)
		}
		return f.resp, f.err
	case <-ctx.Done():
		c.leave(key, f)
		return nil, fmt.Errorf("wait for a shared upstream call: %w", ctx.Err())
	}
}

// run makes the flight's request. Should fetch panic, the flight ends with
// an error for its waiters, and the panic goes on up the first caller's
// stack, to its handler's recovery.
func (c *coalescer) run(key cache.Key, f *flight, ctx context.Context, fetch fetchFunc) {
	defer f.cancel()
	defer func() {
		if v := recover(); v != nil {
			f.resp, f.err = nil, errors.New("the shared upstream call panicked")
			c.land(key, f)
			panic(v)
		}
	}()
	f.resp, f.err = fetch(ctx)
	c.land(key, f)
}

// land ends a flight that has its answer: calls from now on start afresh,
// and its waiters are woken.
func (c *coalescer) land(key cache.Key, f *flight) {
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key) // calls from now on start afresh
	}
	share := f.resp != nil && f.waiters > 1 // none can join now
	c.mu.Unlock()
	if share {
		f.resp.Share() // encode once for all the waiters
	}
	close(f.done)
}

// leave marks a caller gone; the last one to go cancels an unfinished flight.
func (c *coalescer) leave(key cache.Key, f *flight) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f.waiters--
	if f.waiters == 0 {
		select {
		case <-f.done:
		default:
			f.cancel()
			if c.flights[key] == f {
				delete(c.flights, key)
			}
		}
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
