package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// tracing is the server's OpenTelemetry tracing: spans exported over OTLP
// when the standard OTEL_* variables ask for it, and a no-op tracer
// provider otherwise. Either way, a caller's W3C trace context
// (traceparent) is read, so that the log lines of its call carry its trace
// ID.
type tracing struct {
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
	// exporting is whether spans are recorded and exported.
	exporting bool
	// shutdown exports the spans not yet exported, and stops the exporter.
	shutdown func(context.Context) error
}

// noTracing records no span, and still reads callers' trace context.
func noTracing() *tracing {
	return &tracing{
		provider:   tracenoop.NewTracerProvider(),
		propagator: propagation.TraceContext{},
		shutdown:   func(context.Context) error { return nil },
	}
}

// newTracing sets tracing up as the OTEL_* variables of getenv say (see
// README.md): spans are exported when OTEL_TRACES_EXPORTER is otlp, or is
// unset while an OTLP endpoint is, and OTEL_SDK_DISABLED is not true. The
// exporter reads the rest of its settings (endpoint, headers, timeout,
// certificates) from the process's environment, as does the SDK its
// sampler (OTEL_TRACES_SAMPLER) and its batching (OTEL_BSP_*), and the
// resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. OpenTelemetry's
// own errors go to logger.
func newTracing(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*tracing, error) {
	protocol, err := traceExportProtocol(getenv)
	if err != nil || protocol == "" {
		return noTracing(), err
	}
	otel.SetLogger(logr.FromSlogHandler(logger.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "error", err.Error())
	}))
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(name), semconv.ServiceVersion(buildVersion())),
		resource.WithHost(),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // last: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME: %w", err)
	}
	var exporter sdktrace.SpanExporter
	if protocol == "grpc" {
		exporter, err = otlptracegrpc.New(ctx)
	} else {
		exporter, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	logger.Info("tracing", "exporter", "otlp", "protocol", protocol)
	return &tracing{
		provider:   provider,
		propagator: propagation.TraceContext{},
		exporting:  true,
		shutdown:   provider.Shutdown,
	}, nil
}

// traceExportProtocol returns the OTLP protocol spans are exported with,
// http/protobuf or grpc, or "" when they are not exported.
func traceExportProtocol(getenv func(string) string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return "", nil
	}
	switch exporter := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exporter {
	case "none":
		return "", nil
	case "":
		if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
			return "", nil
		}
	case "otlp":
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported (otlp or none)", exporter)
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "", "http/protobuf":
		return "http/protobuf", nil
	case "grpc":
		return "grpc", nil
	}
	return "", fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported (http/protobuf or grpc)", protocol)
}

// flushTimeout bounds the export of the last spans at exit.
const flushTimeout = 5 * time.Second

// flush exports the spans not yet exported, within flushTimeout.
func (t *tracing) flush(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := t.shutdown(ctx); err != nil {
		logger.Warn("tracing: the last spans were not exported", "error", err.Error())
	}
}

// connectInterceptors return, while spans are exported, the interceptor
// that makes a server span of each call of the main listener, a child of
// the caller's span when it sent a traceparent. Its attributes are the
// procedure, the protocol and the code; no header and no message. Its
// metrics are off: the server's are Prometheus's. With tracing off there
// is none: a no-op tracer provider behind otelconnect still cost 19
// allocations a call, and the observing interceptor reads the caller's
// trace context itself.
func (t *tracing) connectInterceptors() ([]connect.Interceptor, error) {
	if !t.exporting {
		return nil, nil
	}
	interceptor, err := otelconnect.NewInterceptor(
		otelconnect.WithTracerProvider(t.provider),
		otelconnect.WithPropagator(t.propagator),
		otelconnect.WithTrustRemote(),
		otelconnect.WithoutMetrics(),
	)
	if err != nil {
		return nil, err
	}
	return []connect.Interceptor{interceptor}, nil
}

// grpcServerOptions do for the service's calls on the -grpc-addr listener
// what connectInterceptors do on the main one, with otelgrpc's stats
// handler. Health and reflection calls, untraced there, are untraced here
// too. With tracing off there is none (a stats handler costs grpc-go an
// event per stage of every call).
func (t *tracing) grpcServerOptions() []grpc.ServerOption {
	if !t.exporting {
		return nil
	}
	prefix := "/" + ampersandv1connect.IntegrationServiceName + "/"
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.provider),
		otelgrpc.WithPropagators(t.propagator),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
			return strings.HasPrefix(info.FullMethodName, prefix)
		}),
	))}
}

// withCallerTrace returns ctx with the trace context the caller sent in
// carrier, unless ctx holds a span already (a server span of the
// instrumentation, which has read it).
func withCallerTrace(ctx context.Context, propagator propagation.TextMapPropagator, carrier propagation.TextMapCarrier) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return propagator.Extract(ctx, carrier)
}

// incomingMetadata reads a gRPC call's metadata for a propagator's Extract.
type incomingMetadata struct{ ctx context.Context }

func (m incomingMetadata) Get(key string) string {
	if values := metadata.ValueFromIncomingContext(m.ctx, key); len(values) > 0 {
		return values[0]
	}
	return ""
}

// Set does nothing: the metadata is read only.
func (incomingMetadata) Set(string, string) {}

// Keys returns nothing: the W3C propagator reads only its own keys.
func (incomingMetadata) Keys() []string { return nil }

// traceLogHandler adds to each record whose context holds a span the
// span's trace and span IDs, as traceId and spanId.
type traceLogHandler struct{ slog.Handler }

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("traceId", sc.TraceID().String()), slog.String("spanId", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{h.Handler.WithGroup(name)}
}
