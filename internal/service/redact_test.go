package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := newRedactor(rest.Credentials{APIKey: "key-1234", Authorization: "Bearer tok-5678"}, "srv-9012")
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"got key-1234 and Bearer tok-5678", "got [REDACTED] and [REDACTED]"},
		{"token tok-5678 alone", "token [REDACTED] alone"},
		{"server srv-9012", "server [REDACTED]"},
		{"key-1234key-1234", "[REDACTED][REDACTED]"},
	}
	for _, tt := range tests {
		if got := r.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (redactor{}).text("anything"); got != "anything" {
		t.Errorf("the zero redactor changed %q", got)
	}
	short := newRedactor(rest.Credentials{APIKey: "k"}, "")
	if got := short.text("unknown key"); got != "unknown key" {
		t.Errorf("a one-letter key was searched for: %q", got)
	}
}

// TestUpstreamEchoingCredentials has the upstream repeat the credentials it
// got in every string of a problem, in its request ID header, and in an
// unknown enum value of a 200: no client on either transport finds one in
// its error, message or details, and the log holds none. The calls carry
// the client's key and token, or none (the server's key is used).
func TestUpstreamEchoingCredentials(t *testing.T) {
	t.Parallel()
	const (
		clientKey   = "client-key-5e1f"
		clientToken = "client-token-77aa"
		serverKey   = "server-key-90bc"
	)
	secrets := []string{clientKey, clientToken, serverKey}
	echo := func(w http.ResponseWriter, r *http.Request) {
		said := r.Header.Get("X-Api-Key") + " " + r.Header.Get("Authorization")
		w.Header().Set("X-Request-Id", "req-"+said)
		if strings.HasSuffix(r.URL.Path, "/enum") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"latestRevision":{"content":{"read":{"objects":[{"objectName":"a","delivery":{"mode":%q}}]}}}}`, said)
			return
		}
		problem := map[string]any{
			"type": "https://example.com/problems/" + said, "title": said, "detail": "bad credentials: " + said,
			"status": 401, "instance": said, "requestId": said, "causes": []string{said}, "remedy": said,
			"href": "https://example.com/" + said, "supportUrl": "https://example.com/support?" + said,
			"context": map[string]any{said: said},
			"issues":  []map[string]any{{"name": said, "detail": said, "value": said}},
		}
		body, _ := json.Marshal(problem)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(body)
	}
	check := func(t *testing.T, where, s string) {
		t.Helper()
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s holds a credential: %s", where, s)
			}
		}
	}
	forEachClient(t, echo, []Option{WithAPIKey(serverKey)}, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
		for _, header := range [][]string{{"X-Api-Key", clientKey, "Authorization", "Bearer " + clientToken}, nil} {
			_, err := client.GetIntegration(context.Background(), request("p", "i", header...))
			connectErr := asConnectError(t, err)
			if connectErr.Code() != connect.CodeUnauthenticated || !strings.Contains(connectErr.Message(), "bad credentials: [REDACTED]") {
				t.Errorf("err = %v", err)
			}
			check(t, "the error", connectErr.Error())
			for _, d := range connectErr.Details() {
				value, err := d.Value()
				if err != nil {
					t.Fatal(err)
				}
				text, _ := protojson.Marshal(value)
				check(t, "detail "+d.Type(), string(text))
			}
			if p := detail[*ampersandv1.Problem](t, connectErr); p == nil || p.GetCauses()[0] == "" {
				t.Errorf("Problem = %v", p)
			}
			if _, err := client.GetIntegration(context.Background(), request("p", "enum", header...)); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(f.logs.String(), "unknown enum value") {
			t.Errorf("no unknown enum logged: %s", f.logs.String())
		}
		check(t, "the log", f.logs.String())
	})

	// The request IDs the upstream gave go into the call's log line.
	f := newFixture(t, echo, WithAPIKey(serverKey))
	trace := &rest.Trace{}
	_, err := f.service.callGetIntegration(rest.WithTrace(context.Background(), trace), &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}, rest.Credentials{APIKey: clientKey})
	if err == nil || len(trace.Attempts) != 1 || !strings.HasPrefix(trace.Attempts[0].RequestID, "req-[REDACTED]") {
		t.Errorf("err %v, attempts %+v", err, trace.Attempts)
	}
}
