package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// The budget of calls a client may reset on one connection: a burst of
// resetBurst, refilled at resetsPerSecond. A client that resets more has
// its connection closed: each call it opens may have cost an upstream
// request before the reset arrived ("rapid reset", CVE-2023-44487). A
// client that cancels now and then, or hedges its calls, stays well
// within it.
const (
	resetBurst      = 200
	resetsPerSecond = 20
)

// connGuard bounds the connections of the listeners it guards, together,
// to max, refusing (closing at once) those beyond; and closes a connection
// whose client resets calls beyond the budget above. It is safe for
// concurrent use.
type connGuard struct {
	logger *slog.Logger
	m      *metrics
	slots  chan struct{}
	full   atomic.Bool // warned of, until a slot is free again
	byAddr sync.Map    // remote address → *guardedConn, for grpc-go, which names connections by address
}

func newConnGuard(max int, logger *slog.Logger, m *metrics) *connGuard {
	return &connGuard{logger: logger, m: m, slots: make(chan struct{}, max)}
}

// listen returns ln, guarded.
func (g *connGuard) listen(ln net.Listener) net.Listener { return &guardedListener{ln, g} }

type guardedListener struct {
	net.Listener
	g *connGuard
}

// Accept returns the next connection there is room for; one beyond the
// bound is closed at once, so that its client can go elsewhere instead of
// waiting in the kernel's backlog.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.g.slots <- struct{}{}:
			l.g.full.Store(false)
			gc := &guardedConn{Conn: c, g: l.g, addr: c.RemoteAddr().String(), tokens: resetBurst, last: time.Now()}
			l.g.byAddr.Store(gc.addr, gc)
			return gc, nil
		default:
			c.Close()
			l.g.m.connsRefused.Inc()
			if !l.g.full.Swap(true) {
				l.g.logger.Warn("connections refused: the bound of open connections is reached", "maxConns", cap(l.g.slots))
			}
		}
	}
}

// guardedConn is a connection with its slot and its budget of resets.
type guardedConn struct {
	net.Conn
	g      *connGuard
	addr   string
	closed sync.Once

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		c.g.byAddr.CompareAndDelete(c.addr, c)
		<-c.g.slots
	})
	return err
}

// reset counts a call its client reset, and closes the connection once
// the budget is spent.
func (c *guardedConn) reset() {
	c.mu.Lock()
	now := time.Now()
	c.tokens = min(resetBurst, c.tokens+now.Sub(c.last).Seconds()*resetsPerSecond)
	c.last = now
	c.tokens--
	spent := c.tokens < 0
	c.mu.Unlock()
	if spent {
		c.closed.Do(func() {
			c.g.logger.Warn("closing a connection whose client resets calls beyond its budget",
				"remoteAddr", c.addr, "resetBurst", resetBurst, "resetsPerSecond", resetsPerSecond)
			c.g.m.connsClosed.Inc()
			c.g.byAddr.CompareAndDelete(c.addr, c)
			<-c.g.slots
		})
		c.Conn.Close()
	}
}

type connKey struct{}

// connContext is the main listener's http.Server.ConnContext: it gives
// each request the guarded connection it came on.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = tc.NetConn()
	}
	if gc, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

// withResetBudget counts, on the main listener, each call whose client
// reset it (or went away) before it was answered.
func withResetBudget(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Context().Err() != nil {
			if gc, ok := r.Context().Value(connKey{}).(*guardedConn); ok {
				gc.reset()
			}
		}
	})
}

// statsHandler counts, on the gRPC listener, each call whose client reset
// it: one that ends canceled.
func (g *connGuard) statsHandler() stats.Handler { return grpcResets{g} }

type grpcResets struct{ g *connGuard }

func (h grpcResets) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	if gc, ok := h.g.byAddr.Load(info.RemoteAddr.String()); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

func (grpcResets) HandleConn(context.Context, stats.ConnStats) {}

func (grpcResets) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (grpcResets) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if end, ok := s.(*stats.End); ok && status.Code(end.Error) == codes.Canceled {
		if gc, ok := ctx.Value(connKey{}).(*guardedConn); ok {
			gc.reset()
		}
	}
}
