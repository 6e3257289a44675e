package rest

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer of the client's spans.
const instrumentationName = "github.com/ampersand-connect/gateway/internal/rest"

// WithTracing makes each attempt of a call a client span of tp's, a child
// of the span in the call's context, so that a call tried three times has
// three. A span holds the method, the URL (which never holds credentials:
// [New] refuses user information), the URL's template, the server's address
// and port, the attempt's resend count, the answer's status and the error's
// type; never a header, a body, nor any text of the upstream's. The default
// is no spans.
func WithTracing(tp trace.TracerProvider) Option {
	return func(c *Client) {
		c.tracer = tp.Tracer(instrumentationName)
	}
}

// WithTracePropagation sends each attempt's trace context upstream in the
// headers of p (with propagation.TraceContext: traceparent and tracestate).
// The default sends none: the upstream is a third party.
func WithTracePropagation(p propagation.TextMapPropagator) Option {
	return func(c *Client) { c.propagator = p }
}

// attempt makes one attempt of Do, the n-th, in a span of its own when the
// client traces.
func (c *Client) attempt(ctx context.Context, n int, creds Credentials, call Call) (Body, *http.Response, error) {
	if c.tracer == nil {
		return c.send(ctx, creds, call)
	}
	template := c.base.Path + call.Template
	ctx, span := c.tracer.Start(ctx, call.Method+" "+template, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(
			semconv.HTTPRequestMethodKey.String(call.Method),
			semconv.URLFull(c.URL(call)),
			semconv.URLTemplate(template),
			semconv.ServerAddress(c.base.Hostname()),
			semconv.ServerPort(c.port),
		)
		if n > 1 {
			span.SetAttributes(semconv.HTTPRequestResendCount(n - 1))
		}
	}
	body, resp, err := c.send(ctx, creds, call)
	if span.IsRecording() {
		if resp != nil {
			span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		}
		if err != nil {
			kind := errorType(err)
			span.SetAttributes(semconv.ErrorTypeKey.String(kind))
			// The error's own text may quote the upstream: only its type.
			span.SetStatus(codes.Error, kind)
		}
	}
	return body, resp, err
}

// errorType names a failed attempt's error for a span's error.type: the
// status of a non-2xx answer, or a word for the kind of failure.
func errorType(err error) string {
	var upstreamErr *Error
	var invalid *InvalidResponseError
	var unreachable *UnreachableError
	switch {
	case errors.As(err, &upstreamErr):
		return strconv.Itoa(upstreamErr.StatusCode)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &invalid):
		return "invalid_response"
	case errors.As(err, &unreachable):
		return "unreachable"
	default:
		return semconv.ErrorTypeOther.Value.AsString()
	}
}

// defaultPort is the port of a base URL that names none.
func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}
