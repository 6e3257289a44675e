package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
)

// metrics are the server's Prometheus metrics, served on the admin listener.
type metrics struct {
	registry        *prometheus.Registry
	calls           *prometheus.CounterVec
	callDuration    *prometheus.HistogramVec
	upstreamLatency *prometheus.HistogramVec
	retries         prometheus.Counter
	upstreamFailed  *prometheus.CounterVec
	unknownEnums    *prometheus.CounterVec
	connsRefused    prometheus.Counter
	connsClosed     prometheus.Counter
	shed            prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ampersand_connect_calls_total",
			Help: "Calls served, by procedure, protocol and Connect code.",
		}, []string{"procedure", "protocol", "code"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ampersand_connect_call_duration_seconds",
			Help:    "Time to serve a call, by procedure.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"procedure"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ampersand_connect_upstream_request_duration_seconds",
			Help:    "Time of one upstream HTTP exchange, by status (0: no answer).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"status"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ampersand_connect_upstream_retries_total",
			Help: "Upstream requests tried again.",
		}),
		upstreamFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ampersand_connect_upstream_failures_total",
			Help: "Upstream requests that got no answer, or only part of one, by cause: dns, refused, reset, tls, timeout, canceled or other.",
		}, []string{"cause"}),
		unknownEnums: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ampersand_connect_unknown_enum_values_total",
			Help: "Enum values the upstream sent that the schema does not know, by field.",
		}, []string{"field"}),
	}
	m.connsRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ampersand_connect_connections_refused_total",
		Help: "Connections closed as soon as accepted: the bound of open connections (-max-conns) was reached.",
	})
	m.connsClosed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ampersand_connect_connections_closed_for_resets_total",
		Help: "Connections closed because their client reset calls beyond its budget.",
	})
	m.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ampersand_connect_calls_shed_total",
		Help: "Calls refused at once (resource_exhausted, OVERLOADED): -max-in-flight calls were being served.",
	})
	droppedDetails := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ampersand_connect_error_details_dropped_total",
		Help: "Error details that could not be marshalled, even with their strings repaired (each is logged).",
	}, func() float64 { return float64(service.DroppedDetails()) })
	m.registry.MustRegister(m.calls, m.callDuration, m.upstreamLatency, m.retries, m.upstreamFailed, m.unknownEnums, droppedDetails, m.connsRefused, m.connsClosed, m.shed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// adminHandler serves /metrics and /debug/pprof/ for operators.
func (m *metrics) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// newObservingInterceptor logs one line per call and counts it. The line
// holds the procedure, protocol, code, latency and the upstream's status,
// attempts and request ID, when the last attempt got no answer its cause
// and the transport's error, and the call's trace and span IDs; never a
// header, so never a credential. Without a span in the call's context, it
// reads the trace context the caller sent, in propagator's headers.
func newObservingInterceptor(logger *slog.Logger, m *metrics, propagator propagation.TextMapPropagator) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			ctx = withCallerTrace(ctx, propagator, propagation.HeaderCarrier(req.Header()))
			start := time.Now()
			trace := &rest.Trace{}
			resp, err := next(rest.WithTrace(ctx, trace), req)
			if err != nil {
				// A call whose client reset it before the handler ran
				// ends with the context's error itself: canceled, with an
				// ErrorInfo, not unknown.
				err = service.ConnectError(ctx, err)
			}
			observeCall(ctx, logger, m, req.Spec().Procedure, req.Peer().Protocol, err, time.Since(start), trace)
			return resp, err
		}
	}
}

// observeTransportErrors gives the calls that connect-go refuses before
// any interceptor runs (a malformed or oversized request) their log line
// and their count too. Such a call has no span of its own: its line
// carries the trace context the caller sent, if any.
func observeTransportErrors(logger *slog.Logger, m *metrics, propagator propagation.TextMapPropagator) service.TransportErrorFunc {
	return func(r *http.Request, err *connect.Error, elapsed time.Duration) {
		ctx := withCallerTrace(r.Context(), propagator, propagation.HeaderCarrier(r.Header))
		observeCall(ctx, logger, m, r.URL.Path, protocolOf(r), err, elapsed, &rest.Trace{})
	}
}

// callCode is the code of a call that failed with err: its own, or, for a
// call that ended because its client went away, canceled. connect-go
// returns a call whose stream the client reset before the handler ran
// with context.Canceled itself, and a request body that fails because the
// client disconnected may be read before its context is cancelled: either
// would count as unknown, and be logged as an ERROR.
func callCode(ctx context.Context, err error) connect.Code {
	var connectErr *connect.Error
	switch {
	case errors.As(err, &connectErr) && connectErr.Code() != connect.CodeUnknown:
		return connectErr.Code()
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded
	case errors.Is(err, context.Canceled), errors.Is(ctx.Err(), context.Canceled):
		return connect.CodeCanceled
	}
	return connect.CodeUnknown
}

// protocolOf names a request's protocol as connect-go's Peer does.
func protocolOf(r *http.Request) string {
	contentType := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(contentType, "application/grpc-web"):
		return connect.ProtocolGRPCWeb
	case strings.HasPrefix(contentType, "application/grpc"):
		return connect.ProtocolGRPC
	default:
		return connect.ProtocolConnect
	}
}

// observeCall logs a call's line and counts it.
func observeCall(ctx context.Context, logger *slog.Logger, m *metrics, procedure, protocol string, err error, elapsed time.Duration, trace *rest.Trace) {
	code, level := "ok", slog.LevelInfo
	if err != nil {
		c := callCode(ctx, err)
		code = c.String()
		if c == connect.CodeInternal || c == connect.CodeUnknown {
			level = slog.LevelError
		}
	}
	attrs := []slog.Attr{
		slog.String("procedure", procedure),
		slog.String("protocol", protocol),
		slog.String("code", code),
		slog.Float64("durationMs", float64(elapsed.Microseconds())/1000),
		slog.Int("attempts", len(trace.Attempts)),
	}
	if last := trace.Last(); len(trace.Attempts) > 0 {
		attrs = append(attrs, slog.Int("upstreamStatus", last.StatusCode))
		if last.RequestID != "" {
			attrs = append(attrs, slog.String("upstreamRequestId", last.RequestID))
		}
		if last.Cause != "" {
			attrs = append(attrs, slog.String("cause", string(last.Cause)))
		}
		if last.Failure != "" {
			attrs = append(attrs, slog.String("upstreamError", last.Failure))
		}
	}
	var connectErr *connect.Error
	if errors.As(err, &connectErr) {
		attrs = append(attrs, slog.String("error", connectErr.Message()))
	}
	logger.LogAttrs(ctx, level, "call", attrs...)

	m.calls.WithLabelValues(procedure, protocol, code).Inc()
	m.callDuration.WithLabelValues(procedure).Observe(elapsed.Seconds())
	for i, attempt := range trace.Attempts {
		m.upstreamLatency.WithLabelValues(strconv.Itoa(attempt.StatusCode)).Observe(attempt.Duration.Seconds())
		if i > 0 {
			m.retries.Inc()
		}
		if attempt.Cause != "" {
			m.upstreamFailed.WithLabelValues(string(attempt.Cause)).Inc()
		}
	}
}
