package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
)

// config is the server's configuration: flags, each with an environment
// variable as its fallback.
type config struct {
	addr            string
	grpcAddr        string
	upstream        string
	apiKey          string
	demo            bool
	corsOrigins     []string
	corsServerKey   bool
	upstreamTimeout time.Duration
	tlsCert         string
	tlsKey          string
	adminAddr       string
	drainDelay      time.Duration
	cacheTTL        time.Duration
	cacheMiB        int64
	// upstreamTracePropagation sends the W3C trace context upstream.
	upstreamTracePropagation bool
	maxConns                 int
	maxInFlight              int
	inFlightSource           string // where the default of maxInFlight came from; "" when set
}

// errVersion is returned by [parseConfig] for -version.
var errVersion = errors.New("version requested")

// usageError is a command line that does not parse: an unknown flag, a flag
// without its value, or an argument that is not a flag.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// parseConfig reads flags from args, falling back on the environment for
// each one not given. A flag wins over its environment variable. It returns
// [flag.ErrHelp] for -h, after printing the usage to stdout, and errVersion
// for -version. A command line that does not parse is a *usageError, after
// the usage is printed to stderr; a bad value is an error that names it.
func parseConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (*config, error) {
	envOr := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return fallback
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package's own messages are replaced by the ones below.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	// textFlag is a string flag whose default prints unquoted, for the
	// flags read as durations and numbers.
	textFlag := func(flagName, env, fallback, usage string) *string {
		v := textValue(envOr(env, fallback))
		fs.Var(&v, flagName, usage)
		return (*string)(&v)
	}
	addr := fs.String("addr", envOr("ADDR", ":8080"), "listen `address` (env ADDR)")
	grpcAddr := fs.String("grpc-addr", envOr("GRPC_ADDR", ""), "listen `address` for gRPC alone, on grpc-go's transport (cheaper per call than the main listener's); empty: none (env GRPC_ADDR)")
	upstream := fs.String("upstream", envOr("AMPERSAND_API_URL", rest.DefaultBaseURL), "base `URL` of the REST API (env AMPERSAND_API_URL)")
	demo := fs.Bool("demo", false, "serve an in-memory stand-in of the whole API, seeded with a sample, with no network and no key (env DEMO)")
	corsOrigins := fs.String("cors-origins", envOr("CORS_ORIGINS", ""), "comma-separated browser `origins` allowed to call, * for any (env CORS_ORIGINS)")
	corsServerKey := fs.Bool("cors-allow-server-key", false, "allow -cors-origins '*' with AMPERSAND_API_KEY, which lets any web page call with the server's key (env CORS_ALLOW_SERVER_KEY)")
	timeout := textFlag("upstream-timeout", "UPSTREAM_TIMEOUT", service.DefaultUpstreamTimeout.String(), "the `duration` the service allows one call's upstream work (env UPSTREAM_TIMEOUT)")
	tlsCert := fs.String("tls-cert", envOr("TLS_CERT_FILE", ""), "TLS certificate `file`: serve HTTPS (env TLS_CERT_FILE)")
	tlsKey := fs.String("tls-key", envOr("TLS_KEY_FILE", ""), "TLS key `file` (env TLS_KEY_FILE)")
	adminAddr := fs.String("admin-addr", envOr("ADMIN_ADDR", ""), "admin listen `address` for /metrics and /debug/pprof; empty: none (env ADMIN_ADDR)")
	drainDelay := textFlag("drain-delay", "DRAIN_DELAY", "0s", "on SIGTERM, keep serving with health NOT_SERVING for this `duration` before closing the listener (env DRAIN_DELAY)")
	cacheTTL := textFlag("cache-ttl", "CACHE_TTL", "0s", "keep successful responses for this `duration`, per credential and names; 0: no cache (env CACHE_TTL)")
	cacheMiB := textFlag("cache-mib", "CACHE_MIB", "64", "the cache's memory bound in `MiB` (env CACHE_MIB)")
	maxConns := textFlag("max-conns", "MAX_CONNS", strconv.Itoa(defaultMaxConns), "the `number` of connections open at once, both listeners together; more are closed as soon as accepted (env MAX_CONNS)")
	maxInFlight := textFlag("max-in-flight", "MAX_IN_FLIGHT", "auto", "the `number` of calls served at once, both listeners together; more are refused at once with resource_exhausted. auto: the memory the server may use (GOMEMLIMIT, else the container's limit, else the machine's) over 192 MiB, what a call with a 16 MiB upstream body may hold at worst, from 4 to 1024 (env MAX_IN_FLIGHT)")
	tracePropagation := fs.Bool("upstream-trace-propagation", false, "send the W3C trace context (traceparent) to the upstream, a third party (env UPSTREAM_TRACE_PROPAGATION)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout, fs)
		return nil, err
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n\n", name, err)
		printUsage(stderr, fs)
		return nil, &usageError{err}
	case *showVersion:
		return nil, errVersion
	}

	cfg := &config{
		addr:      *addr,
		grpcAddr:  *grpcAddr,
		upstream:  *upstream,
		apiKey:    getenv("AMPERSAND_API_KEY"),
		tlsCert:   *tlsCert,
		tlsKey:    *tlsKey,
		adminAddr: *adminAddr,
	}
	cfg.demo = *demo
	if !isSet(fs, "demo") && getenv("DEMO") != "" {
		var err error
		if cfg.demo, err = strconv.ParseBool(getenv("DEMO")); err != nil {
			return nil, fmt.Errorf("DEMO: %q is not a boolean", getenv("DEMO"))
		}
	}
	cfg.upstreamTracePropagation = *tracePropagation
	if !isSet(fs, "upstream-trace-propagation") && getenv("UPSTREAM_TRACE_PROPAGATION") != "" {
		if cfg.upstreamTracePropagation, err = strconv.ParseBool(getenv("UPSTREAM_TRACE_PROPAGATION")); err != nil {
			return nil, fmt.Errorf("UPSTREAM_TRACE_PROPAGATION: %q is not a boolean", getenv("UPSTREAM_TRACE_PROPAGATION"))
		}
	}
	cfg.corsServerKey = *corsServerKey
	if !isSet(fs, "cors-allow-server-key") && getenv("CORS_ALLOW_SERVER_KEY") != "" {
		if cfg.corsServerKey, err = strconv.ParseBool(getenv("CORS_ALLOW_SERVER_KEY")); err != nil {
			return nil, fmt.Errorf("CORS_ALLOW_SERVER_KEY: %q is not a boolean", getenv("CORS_ALLOW_SERVER_KEY"))
		}
	}
	if cfg.upstreamTimeout, err = time.ParseDuration(*timeout); err != nil || cfg.upstreamTimeout <= 0 {
		return nil, fmt.Errorf("-upstream-timeout / UPSTREAM_TIMEOUT: %q is not a positive duration (e.g. 30s)", *timeout)
	}
	if cfg.drainDelay, err = time.ParseDuration(*drainDelay); err != nil || cfg.drainDelay < 0 {
		return nil, fmt.Errorf("-drain-delay / DRAIN_DELAY: %q is not a duration (e.g. 5s)", *drainDelay)
	}
	if cfg.cacheTTL, err = time.ParseDuration(*cacheTTL); err != nil || cfg.cacheTTL < 0 {
		return nil, fmt.Errorf("-cache-ttl / CACHE_TTL: %q is not a duration (e.g. 30s, 0 for no cache)", *cacheTTL)
	}
	if cfg.cacheMiB, err = strconv.ParseInt(*cacheMiB, 10, 64); err != nil || cfg.cacheMiB <= 0 || cfg.cacheMiB > 1<<20 {
		return nil, fmt.Errorf("-cache-mib / CACHE_MIB: %q is not a size in MiB (1 to 1048576)", *cacheMiB)
	}
	if cfg.maxConns, err = strconv.Atoi(*maxConns); err != nil || cfg.maxConns <= 0 {
		return nil, fmt.Errorf("-max-conns / MAX_CONNS: %q is not a positive number", *maxConns)
	}
	if *maxInFlight == "auto" {
		cfg.maxInFlight, cfg.inFlightSource = defaultMaxInFlight()
	} else if cfg.maxInFlight, err = strconv.Atoi(*maxInFlight); err != nil || cfg.maxInFlight <= 0 {
		return nil, fmt.Errorf("-max-in-flight / MAX_IN_FLIGHT: %q is not a positive number, or auto", *maxInFlight)
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return nil, fmt.Errorf("-addr / ADDR: %q is not host:port: %w", cfg.addr, err)
	}
	if cfg.grpcAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.grpcAddr); err != nil {
			return nil, fmt.Errorf("-grpc-addr / GRPC_ADDR: %q is not host:port: %w", cfg.grpcAddr, err)
		}
	}
	if cfg.adminAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.adminAddr); err != nil {
			return nil, fmt.Errorf("-admin-addr / ADMIN_ADDR: %q is not host:port: %w", cfg.adminAddr, err)
		}
	}
	if _, err := rest.New(cfg.upstream); err != nil {
		return nil, fmt.Errorf("-upstream / AMPERSAND_API_URL: %w", err)
	}
	for _, origin := range strings.Split(*corsOrigins, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			cfg.corsOrigins = append(cfg.corsOrigins, origin)
		}
	}
	// A browser sends no credentials of its own when a page calls without
	// them; the server then uses its key. With any origin allowed, any web
	// page its users open could read the operator's data with it.
	if slices.Contains(cfg.corsOrigins, "*") && cfg.apiKey != "" && !cfg.demo && !cfg.corsServerKey {
		return nil, errors.New("-cors-origins '*' (CORS_ORIGINS) with AMPERSAND_API_KEY lets any web page call with the server's key: " +
			"list the origins allowed instead, or set -cors-allow-server-key (CORS_ALLOW_SERVER_KEY=true) to accept that")
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return nil, errors.New("-tls-cert and -tls-key (TLS_CERT_FILE, TLS_KEY_FILE) go together")
	}
	for _, file := range []string{cfg.tlsCert, cfg.tlsKey} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("TLS file: %w", err)
		}
	}
	return cfg, nil
}

// printUsage writes what the program is, its flags and the environment
// variables it reads.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `%s serves Ampersand's REST platform API over gRPC, Connect and gRPC-Web.

Usage: %s [flags]

Flags (each falls back on the environment variable named in parentheses; a
flag wins over its variable):
`, name, name)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprint(w, `
Environment:
  AMPERSAND_API_KEY
    	the API key sent upstream when a client sends no credentials of its own
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY
    	the proxy to reach the upstream through, as Go reads them
  OTEL_*
    	OpenTelemetry's standard variables: spans are exported over OTLP when
    	OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set (see README.md)
`)
	fmt.Fprintf(w, `
On SIGTERM or SIGINT the server exits within -drain-delay + -upstream-timeout + %v:
it drains, finishes the calls in flight, and exports the last spans.
`, shutdownMargin+flushTimeout)
	fmt.Fprint(w, `
Example: `+name+` -demo, then open http://localhost:8080/ (see README.md)
`)
}

// textValue is a string flag's value whose default prints without quotes,
// as a duration's or a number's does.
type textValue string

func (v *textValue) String() string     { return string(*v) }
func (v *textValue) Set(s string) error { *v = textValue(s); return nil }

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// upstreamForLog names the upstream in logs: the demo, or the base URL (which
// holds no secret: rest.New refuses user information in it).
func (c *config) upstreamForLog() string {
	if c.demo {
		return "demo"
	}
	u, err := url.Parse(c.upstream)
	if err != nil {
		return ""
	}
	return u.Redacted()
}
