package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampersand-connect/gateway/internal/rest"
)

func env(m map[string]string) func(string) string {
	return func(key string) string { return m[key] }
}

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":8080" || cfg.grpcAddr != "" || cfg.upstream != rest.DefaultBaseURL || cfg.demo || cfg.upstreamTimeout != 30*time.Second || cfg.apiKey != "" || cfg.corsOrigins != nil || cfg.upstreamTracePropagation {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestParseConfigFlagWinsOverEnv(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{
		"ADDR": "127.0.0.1:1", "AMPERSAND_API_URL": "http://env.example/v1", "AMPERSAND_API_KEY": "k",
		"DEMO": "false", "CORS_ORIGINS": "https://env.example", "UPSTREAM_TIMEOUT": "5s", "GRPC_ADDR": "127.0.0.1:2",
	})
	cfg, err := parseConfig(nil, vars, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:1" || cfg.grpcAddr != "127.0.0.1:2" || cfg.upstream != "http://env.example/v1" || cfg.apiKey != "k" || cfg.demo ||
		!slices.Equal(cfg.corsOrigins, []string{"https://env.example"}) || cfg.upstreamTimeout != 5*time.Second {
		t.Errorf("from env = %+v", cfg)
	}
	cfg, err = parseConfig([]string{"-addr", ":9", "-grpc-addr", ":10", "-upstream", "https://flag.example", "-demo", "-cors-origins", "*, https://a.example ,", "-upstream-timeout", "1m"}, vars, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":9" || cfg.grpcAddr != ":10" || cfg.upstream != "https://flag.example" || !cfg.demo ||
		!slices.Equal(cfg.corsOrigins, []string{"*", "https://a.example"}) || cfg.upstreamTimeout != time.Minute {
		t.Errorf("from flags = %+v", cfg)
	}
	cfg, err = parseConfig(nil, env(map[string]string{"UPSTREAM_TRACE_PROPAGATION": "true"}), io.Discard, io.Discard)
	if err != nil || !cfg.upstreamTracePropagation {
		t.Errorf("UPSTREAM_TRACE_PROPAGATION=true: %+v, %v", cfg, err)
	}
	cfg, err = parseConfig([]string{"-upstream-trace-propagation=false"}, env(map[string]string{"UPSTREAM_TRACE_PROPAGATION": "true"}), io.Discard, io.Discard)
	if err != nil || cfg.upstreamTracePropagation {
		t.Errorf("-upstream-trace-propagation=false over UPSTREAM_TRACE_PROPAGATION=true: %+v, %v", cfg, err)
	}
	// A flag wins even over a bad environment value.
	cfg, err = parseConfig([]string{"-demo=false"}, env(map[string]string{"DEMO": "maybe"}), io.Discard, io.Discard)
	if err != nil || cfg.demo {
		t.Errorf("-demo=false over DEMO=maybe: %+v, %v", cfg, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-upstream-timeout", "0s"}, nil, "-upstream-timeout"},
		{nil, map[string]string{"UPSTREAM_TIMEOUT": "ten"}, "UPSTREAM_TIMEOUT"},
		{[]string{"-upstream", "ftp://x"}, nil, "scheme"},
		{[]string{"-upstream", "https://user:hunter2@x/v1"}, nil, "user information"},
		{[]string{"-addr", "8080"}, nil, "-addr"},
		{[]string{"-grpc-addr", "9090"}, nil, "-grpc-addr"},
		{nil, map[string]string{"GRPC_ADDR": "localhost"}, "GRPC_ADDR"},
		{[]string{"-tls-key", "k.pem"}, nil, "go together"},
		{[]string{"extra"}, nil, "unexpected arguments"},
		{nil, map[string]string{"DEMO": "yes please"}, "DEMO"},
		{nil, map[string]string{"UPSTREAM_TRACE_PROPAGATION": "sometimes"}, "UPSTREAM_TRACE_PROPAGATION"},
		{[]string{"-cors-origins", "https://a.example,*"}, map[string]string{"AMPERSAND_API_KEY": "k"}, "-cors-allow-server-key"},
		{nil, map[string]string{"CORS_ORIGINS": "*", "AMPERSAND_API_KEY": "k"}, "lets any web page call with the server's key"},
		{nil, map[string]string{"CORS_ORIGINS": "*", "AMPERSAND_API_KEY": "k", "CORS_ALLOW_SERVER_KEY": "false"}, "lets any web page"},
		{nil, map[string]string{"CORS_ALLOW_SERVER_KEY": "sure"}, "CORS_ALLOW_SERVER_KEY"},
		{[]string{"-max-conns", "0"}, nil, "-max-conns"},
		{nil, map[string]string{"MAX_CONNS": "many"}, "MAX_CONNS"},
		{[]string{"-max-in-flight", "-3"}, nil, "-max-in-flight"},
		{nil, map[string]string{"MAX_IN_FLIGHT": "lots"}, "MAX_IN_FLIGHT"},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args, env(tt.env), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseConfig(%q, %v) = %v, want an error naming %q", tt.args, tt.env, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks a password: %v", err)
		}
	}
}

func TestParseConfigHelpAndVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	_, err := parseConfig([]string{"-h"}, env(nil), &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: err = %v", err)
	}
	help := stdout.String()
	if !strings.HasPrefix(help, "ampersand-connect serves Ampersand's REST platform API") {
		t.Errorf("-h does not start by saying what the program is:\n%s", help)
	}
	for _, want := range []string{"AMPERSAND_API_KEY", "-upstream-timeout duration", "-drain-delay duration", "-cache-ttl duration", "(default 30s)", "-version"} {
		if !strings.Contains(help, want) {
			t.Errorf("-h does not show %q:\n%s", want, help)
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("-h wrote to stderr: %s", stderr.String())
	}

	if _, err := parseConfig([]string{"-version"}, env(nil), io.Discard, io.Discard); !errors.Is(err, errVersion) {
		t.Errorf("-version: err = %v", err)
	}
}

func TestParseConfigUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-nope"}, {"-addr"}, {"extra"}} {
		var stderr strings.Builder
		_, err := parseConfig(args, env(nil), io.Discard, &stderr)
		var usageErr *usageError
		if !errors.As(err, &usageErr) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
		if !strings.Contains(stderr.String(), err.Error()) || !strings.Contains(stderr.String(), "Usage: ampersand-connect [flags]") {
			t.Errorf("%q: stderr does not hold the error and the usage:\n%s", args, stderr.String())
		}
	}
	// A bad value is not a usage error: its message names it.
	_, err := parseConfig([]string{"-upstream-timeout", "soon"}, env(nil), io.Discard, io.Discard)
	var usageErr *usageError
	if err == nil || errors.As(err, &usageErr) {
		t.Errorf("bad value: err = %v", err)
	}
}

// TestUsage checks that -h names the variables that have no flag, and the
// bound on the time to stop that a deployment's grace period must cover.
func TestUsage(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if _, err := parseConfig([]string{"-h"}, env(nil), &out, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"-upstream-trace-propagation", "(env DRAIN_DELAY)", "AMPERSAND_API_KEY", "OTEL_*", "within -drain-delay + -upstream-timeout + 10s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// TestParseConfigCORSWithServerKey: any origin with the server's key needs
// the opt-in; named origins, no key, or the demo do not.
func TestParseConfigCORSWithServerKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"-cors-origins", "*", "-cors-allow-server-key"}, map[string]string{"AMPERSAND_API_KEY": "k"}},
		{nil, map[string]string{"CORS_ORIGINS": "*", "AMPERSAND_API_KEY": "k", "CORS_ALLOW_SERVER_KEY": "true"}},
		{[]string{"-cors-origins", "https://a.example"}, map[string]string{"AMPERSAND_API_KEY": "k"}},
		{[]string{"-cors-origins", "*"}, nil},
		{[]string{"-cors-origins", "*", "-demo"}, map[string]string{"AMPERSAND_API_KEY": "k"}},
	} {
		if _, err := parseConfig(tt.args, env(tt.env), io.Discard, io.Discard); err != nil {
			t.Errorf("parseConfig(%q, %v): %v", tt.args, tt.env, err)
		}
	}
}
