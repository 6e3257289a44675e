package main

import (
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
	cfg, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":8080" || cfg.grpcAddr != "" || cfg.upstream != rest.DefaultBaseURL || cfg.demo || cfg.upstreamTimeout != 30*time.Second || cfg.apiKey != "" || cfg.corsOrigins != nil {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestParseConfigFlagWinsOverEnv(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{
		"ADDR": "127.0.0.1:1", "AMPERSAND_API_URL": "http://env.example/v1", "AMPERSAND_API_KEY": "k",
		"DEMO": "false", "CORS_ORIGINS": "https://env.example", "UPSTREAM_TIMEOUT": "5s", "GRPC_ADDR": "127.0.0.1:2",
	})
	cfg, err := parseConfig(nil, vars, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:1" || cfg.grpcAddr != "127.0.0.1:2" || cfg.upstream != "http://env.example/v1" || cfg.apiKey != "k" || cfg.demo ||
		!slices.Equal(cfg.corsOrigins, []string{"https://env.example"}) || cfg.upstreamTimeout != 5*time.Second {
		t.Errorf("from env = %+v", cfg)
	}
	cfg, err = parseConfig([]string{"-addr", ":9", "-grpc-addr", ":10", "-upstream", "https://flag.example", "-demo", "-cors-origins", "*, https://a.example ,", "-upstream-timeout", "1m"}, vars, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != ":9" || cfg.grpcAddr != ":10" || cfg.upstream != "https://flag.example" || !cfg.demo ||
		!slices.Equal(cfg.corsOrigins, []string{"*", "https://a.example"}) || cfg.upstreamTimeout != time.Minute {
		t.Errorf("from flags = %+v", cfg)
	}
	// A flag wins even over a bad environment value.
	cfg, err = parseConfig([]string{"-demo=false"}, env(map[string]string{"DEMO": "maybe"}), io.Discard)
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
		_, err := parseConfig(tt.args, env(tt.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseConfig(%q, %v) = %v, want an error naming %q", tt.args, tt.env, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks a password: %v", err)
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
		if _, err := parseConfig(tt.args, env(tt.env), io.Discard); err != nil {
			t.Errorf("parseConfig(%q, %v): %v", tt.args, tt.env, err)
		}
	}
}
