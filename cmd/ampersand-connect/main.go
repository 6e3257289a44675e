// Command ampersand-connect serves ampersand.v1.IntegrationService over
// Connect, gRPC and gRPC-Web in front of Ampersand's REST API, with gRPC
// reflection and health on the same port, and optionally gRPC alone on a
// port of its own, on grpc-go's transport. See README.md for its flags.
package main

import (
	"cmp"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"connectrpc.com/connect"
	connectcors "connectrpc.com/cors"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
	"github.com/ampersand-connect/gateway/internal/web"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); otherwise
// it comes from the build information.
var version = ""

const name = "ampersand-connect"

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	var usageErr *usageError
	switch {
	case errors.Is(err, flag.ErrHelp): // -h: the usage was printed
		return
	case errors.Is(err, errVersion):
		fmt.Println(name, buildVersion())
		return
	case errors.As(err, &usageErr): // the error and the usage were printed
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\nRun '%s -h' for the flags.\n", name, err, name)
		os.Exit(2)
	}
	logOut := newBatchWriter(os.Stderr, logBatchBytes, logBatchDelay)
	logger := slog.New(slog.NewJSONHandler(logOut, nil))
	slog.SetDefault(logger) // for what has no logger of its own to log with
	logGRPCTo(logger)
	if err := run(context.Background(), cfg, logger); err != nil {
		logger.Error("server stopped", "error", err.Error())
		logOut.Close()
		os.Exit(1)
	}
	logOut.Close()
}

// The log's lines are written in batches of at most logBatchBytes, each
// within logBatchDelay of its first line.
const (
	logBatchBytes = 64 << 10
	logBatchDelay = 100 * time.Millisecond
)

// run serves, with tracing as the OTEL_* variables say, until ctx is done
// or SIGTERM or SIGINT comes, then stops gracefully.
func run(ctx context.Context, cfg *config, logger *slog.Logger) error {
	tracing, err := newTracing(ctx, os.Getenv, logger)
	if err != nil {
		return err
	}
	defer tracing.flush(logger) // once the listeners are closed
	return serve(ctx, cfg, tracing, logger)
}

// serve serves until ctx is done or SIGTERM or SIGINT comes, then finishes
// the calls in flight.
func serve(ctx context.Context, cfg *config, tracing *tracing, logger *slog.Logger) error {
	logger = slog.New(traceLogHandler{logger.Handler()})
	upstream, err := newUpstream(cfg, tracing)
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	svcOpts := []service.Option{
		service.WithAPIKey(cfg.apiKey),
		service.WithUpstreamTimeout(cfg.upstreamTimeout),
		service.WithLogger(logger),
	}
	m := newMetrics()
	svcOpts = append(svcOpts, service.WithUnknownEnumObserver(func(field string) {
		m.unknownEnums.WithLabelValues(field).Inc()
	}))
	if cfg.demo {
		svcOpts = append(svcOpts, service.WithAnonymous())
	}
	if cfg.cacheTTL > 0 {
		svcOpts = append(svcOpts, service.WithCache(cfg.cacheTTL, cfg.cacheMiB<<20))
	}
	svcOpts = append(svcOpts, service.WithMaxInFlight(cfg.maxInFlight, m.shed.Inc))
	svc := service.New(upstream, svcOpts...)
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ampersand_connect_calls_in_flight",
		Help: "Calls of the service being served, both listeners together.",
	}, func() float64 { return float64(svc.InFlight()) }))
	checker := grpchealth.NewStaticChecker(svc.ServiceNames()...)
	handler, err := newHandler(svc, checker, logger, m, cfg.corsOrigins, tracing)
	if err != nil {
		return err
	}

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	if tlsConfig != nil {
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	srv := &http.Server{
		Handler:           handler,
		Protocols:         protocols,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.upstreamTimeout + 30*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: maxConcurrentStreams},
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnContext:       connContext,
	}

	guard := newConnGuard(cfg.maxConns, logger, m)
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = guard.listen(ln)
	var grpcSrv *grpc.Server
	var grpcHealth *health.Server
	var grpcLn net.Listener
	if cfg.grpcAddr != "" {
		if grpcLn, err = net.Listen("tcp", cfg.grpcAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen (gRPC): %w", err)
		}
		grpcLn = guard.listen(grpcLn)
		grpcSrv, grpcHealth = newGRPCServer(svc, logger, m, tlsConfig, tracing.propagator,
			append(tracing.grpcServerOptions(), grpc.StatsHandler(guard.statsHandler()))...)
	}
	var admin *http.Server
	if cfg.adminAddr != "" {
		adminLn, err := net.Listen("tcp", cfg.adminAddr)
		if err != nil {
			ln.Close()
			if grpcLn != nil {
				grpcLn.Close()
			}
			return fmt.Errorf("listen (admin): %w", err)
		}
		admin = &http.Server{Handler: m.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = admin.Serve(adminLn) }()
		defer admin.Close()
		logger.Info("admin listening", "addr", adminLn.Addr().String())
		if !isLoopback(adminLn.Addr()) {
			logger.Warn("the admin listener is not on loopback: anyone who reaches it gets /metrics and /debug/pprof, without authentication; bind it to 127.0.0.1 or keep the port private",
				"addr", adminLn.Addr().String())
		}
	}
	logger.Info("listening",
		"addr", ln.Addr().String(),
		"tls", tlsConfig != nil,
		"demo", cfg.demo,
		"cacheTTL", cfg.cacheTTL.String(),
		"maxInFlight", cfg.maxInFlight,
		"maxInFlightFrom", cmp.Or(cfg.inFlightSource, "set"),
		"upstream", cfg.upstreamForLog(),
		"upstreamTracePropagation", cfg.upstreamTracePropagation,
		"tracing", tracing.exporting,
		"version", buildVersion(),
	)

	if grpcSrv != nil {
		logger.Info("gRPC listening", "addr", grpcLn.Addr().String(), "tls", tlsConfig != nil)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	grpcErr := make(chan error, 1)
	if grpcSrv != nil {
		go func() { grpcErr <- grpcSrv.Serve(grpcLn) }()
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			// ServeTLS offers h2 and http/1.1 by ALPN, as srv.Protocols says.
			serveErr <- srv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- srv.Serve(ln)
	}()

	select {
	case err := <-serveErr:
		if grpcSrv != nil {
			grpcSrv.Stop()
		}
		return fmt.Errorf("serve: %w", err)
	case err := <-grpcErr:
		srv.Close()
		return fmt.Errorf("serve (gRPC): %w", err)
	case <-ctx.Done():
	}
	stop()
	checker.SetStatus("", grpchealth.StatusNotServing)
	for _, name := range svc.ServiceNames() {
		checker.SetStatus(name, grpchealth.StatusNotServing)
	}
	if grpcHealth != nil {
		grpcHealth.Shutdown() // NOT_SERVING, for good
	}
	if cfg.drainDelay > 0 {
		// Keep serving, NOT_SERVING to health checks, so that load
		// balancers stop sending calls before the listener closes.
		logger.Info("draining: health is NOT_SERVING", "drainDelay", cfg.drainDelay.String())
		time.Sleep(cfg.drainDelay)
	}
	logger.Info("shutting down: finishing calls in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.upstreamTimeout+shutdownMargin)
	defer cancel()
	grpcStopped := make(chan struct{})
	go func() {
		if grpcSrv != nil {
			stopGRPC(shutdownCtx, grpcSrv)
		}
		close(grpcStopped)
	}()
	err = srv.Shutdown(shutdownCtx)
	<-grpcStopped
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// isLoopback reports whether a listener's address is on loopback only
// (":6060" or "0.0.0.0:6060" listen on every interface).
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// newUpstream returns the REST client: of the configured upstream, or of the
// in-process demo API. While tracing exports, each attempt is a span; the
// trace context goes upstream only when the configuration says so.
func newUpstream(cfg *config, tracing *tracing) (*rest.Client, error) {
	opts := []rest.Option{rest.WithUserAgent(name + "/" + buildVersion())}
	if tracing.exporting {
		opts = append(opts, rest.WithTracing(tracing.provider))
	}
	if cfg.upstreamTracePropagation {
		opts = append(opts, rest.WithTracePropagation(tracing.propagator))
	}
	baseURL := cfg.upstream
	if cfg.demo {
		baseURL = "http://demo.invalid/v1"
		opts = append(opts, rest.WithHTTPClient(&http.Client{Transport: demo.Transport{Handler: demo.NewHandler()}}))
	}
	return rest.New(baseURL, opts...)
}

// newHandler returns the main listener's handler: every service,
// reflection and health (see newMux), each call traced as tr says and
// observed, for browsers on origins, with panics recovered, and the calls
// its clients reset counted against their connection's budget.
func newHandler(svc *service.Service, checker grpchealth.Checker, logger *slog.Logger, m *metrics, origins []string, tr *tracing) (http.Handler, error) {
	interceptors, err := tr.connectInterceptors()
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// The span first, so that the call's log line carries its IDs.
	interceptors = append(interceptors, newObservingInterceptor(logger, m, tr.propagator))
	opts := append(svc.HandlerOptions(), connect.WithInterceptors(interceptors...))
	mux := newMux(svc, checker, observeTransportErrors(logger, m, tr.propagator), handlerOptions(logger), opts...)
	return withRecovery(logger, withResetBudget(withGrownStack(withCORS(mux, origins)))), nil
}

// handlerOptions are the options of every handler of the main listener:
// panics recovered, and the same limits when reading a request, at most
// maxRequestBytes a message, compressed or not, gzip inflated no further
// than that.
func handlerOptions(logger *slog.Logger) []connect.HandlerOption {
	return []connect.HandlerOption{
		recoverConnect(logger),
		connect.WithReadMaxBytes(maxRequestBytes),
		// Compressing a typical integration of a few KB costs more CPU than
		// it saves on the wire: only large responses are compressed, and
		// at gzip's fastest level.
		connect.WithCompressMinBytes(compressMinBytes),
		connect.WithCompression("gzip", newLimitedGzipReader, newFastGzipWriter),
	}
}

// newMux mounts every service, gRPC reflection (v1 and v1alpha) and gRPC
// health on one handler. Each has the options common, the services opts
// too.
func newMux(svc *service.Service, checker grpchealth.Checker, observe service.TransportErrorFunc, common []connect.HandlerOption, opts ...connect.HandlerOption) *http.ServeMux {
	mux := http.NewServeMux()
	// Each service answers its unknown methods as RPCs do, and so does the
	// mux for any other path that looks like a call.
	handle := func(path string, h http.Handler) { mux.Handle(path, withKnownMethods(path, h)) }
	for _, h := range svc.Handlers(append(opts, common...)...) {
		handle(h.Path, service.EnsureErrorInfo(service.ConditionalGET(h.Handler), observe))
	}
	reflector := grpcreflect.NewStaticReflector(append(svc.ServiceNames(), grpchealth.HealthV1ServiceName)...)
	handle(grpcreflect.NewHandlerV1(reflector, common...))
	handle(grpcreflect.NewHandlerV1Alpha(reflector, common...))
	handle(grpchealth.NewHandler(checker, common...))
	web.Register(mux)
	mux.HandleFunc("/", unknownRoute)
	return mux
}

// shutdownMargin is how much longer than -upstream-timeout the calls in
// flight at shutdown may take; then they are cut.
const shutdownMargin = 5 * time.Second

// The listeners' limits.
const (
	// defaultMaxConns bounds the connections of both listeners together.
	// An idle HTTP/2 connection held 26 KiB of the server's memory on the
	// main listener and 22 KiB on the gRPC one (RSS, 2,000 of them): 4096
	// connections, about 100 MiB.
	defaultMaxConns      = 4096
	maxRequestBytes      = 64 << 10
	maxHeaderBytes       = 64 << 10
	maxConcurrentStreams = 250 // net/http's default
	readHeaderTimeout    = 10 * time.Second
	idleTimeout          = 2 * time.Minute
)

// compressMinBytes is the size from which responses are compressed, when
// the client accepts it.
const compressMinBytes = 16 << 10

func newFastGzipWriter() connect.Compressor {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: never fails
	return w
}

// withCORS lets browsers on the allowed origins ("*" for any) call every
// procedure with the Connect, gRPC-Web and gRPC headers, credentials and
// the W3C trace context. With no origin it
// returns h unchanged: browsers' cross-origin calls are refused.
func withCORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: connectcors.AllowedMethods(),
		AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization", "X-Api-Key", "Traceparent", "Tracestate"),
		ExposedHeaders: append(connectcors.ExposedHeaders(), "ETag"),
		MaxAge:         7200,
	}).Handler(h)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
