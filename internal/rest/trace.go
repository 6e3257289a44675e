package rest

import (
	"context"
	"time"
)

// Trace records the attempts of one call, for logs and metrics. Put one in
// a call's context with [WithTrace]; the client fills it in as it goes. A
// Trace belongs to one call: it is not safe for concurrent use, and is read
// once the call has returned.
type Trace struct {
	Attempts []Attempt
}

// Attempt is one HTTP exchange with the upstream.
type Attempt struct {
	// StatusCode is the answer's status, or 0 when there was no answer.
	StatusCode int
	// Duration is the time from sending the request to reading the body.
	Duration time.Duration
	// RequestID is the upstream's request ID (the X-Request-Id header, else
	// the problem's requestId), when it gave one.
	RequestID string
	// RetryReason says why the attempt was or was not tried again.
	RetryReason string
	// Cause says why the attempt got no answer, or only part of one; it is
	// empty when an answer came whole (even a failed one, whose StatusCode
	// says what it was).
	Cause Kind
	// Failure is the transport's error, without the request's URL (see
	// [UnreachableError.Detail]), when Cause comes from one: empty when the
	// call's context ended first.
	Failure string
}

type traceKey struct{}

// WithTrace returns a context whose calls record their attempts in t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// TraceFrom returns the trace of ctx, or nil.
func TraceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// Last returns the last attempt, or the zero Attempt when there was none.
func (t *Trace) Last() Attempt {
	if t == nil || len(t.Attempts) == 0 {
		return Attempt{}
	}
	return t.Attempts[len(t.Attempts)-1]
}
