package service

import (
	"context"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// TestTranscodedAnswers: every protocol and encoding gets the message the
// decoder makes of the upstream's body, whether the service transcoded it
// (proto, and JSON but for GETs) or decoded it.
func TestTranscodedAnswers(t *testing.T) {
	t.Parallel()
	want := decodedFile(t, "full.json")
	f := newFixture(t, serveFile("../translate/testdata/integrations/full.json"))
	clients := everyEncoding(f)
	for name, client := range clients {
		for i := range 3 { // the third call of a key is answered by the memo
			resp, err := client.GetIntegration(context.Background(), request("p", name, "X-Api-Key", "k"))
			if err != nil {
				t.Fatalf("%s, call %d: %v", name, i, err)
			}
			if !proto.Equal(resp.Msg, want) {
				t.Errorf("%s, call %d: got %v, want %v", name, i, resp.Msg, want)
			}
		}
	}
	// The memo keeps the second call's transcoded response (proto, then
	// JSON); clients of the other encoding are then answered from it,
	// decoded once.
	for _, c := range []struct {
		integration string
		clients     []string
	}{
		{"mixed", []string{"connect", "grpc-go", "connect-json", "get-json", "grpc-json", "connect"}},
		{"mixed-json", []string{"connect-json", "grpcweb-json", "connect", "get", "grpc-go", "connect-json"}},
	} {
		for i, name := range c.clients {
			resp, err := clients[name].GetIntegration(context.Background(), request("p", c.integration, "X-Api-Key", "k"))
			if err != nil {
				t.Fatalf("%s, %s, call %d: %v", c.integration, name, i, err)
			}
			if !proto.Equal(resp.Msg, want) {
				t.Errorf("%s, %s, call %d: got %v, want %v", c.integration, name, i, resp.Msg, want)
			}
		}
	}
}

// TestTranscodedForm: the service transcodes into the encoding the client
// reads, decodes for a client that reads the message (a Connect GET), and
// decodes a body the transcoder leaves alone (an unknown enum value, which
// is then reported).
func TestTranscodedForm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file       string
		form       answer
		transcoded bool
	}{
		{"full.json", answerProto, true},
		{"full.json", answerJSON, true},
		{"full.json", answerMessage, false},
		{"unknown.json", answerProto, false},
		{"unknown.json", answerJSON, false},
	} {
		f := newFixture(t, serveFile("../translate/testdata/integrations/"+c.file))
		op := f.service.operation(ampersandv1connect.IntegrationServiceGetIntegrationProcedure)
		req := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}
		resp, err := f.service.call(context.Background(), op, req, rest.Credentials{APIKey: "k"}, c.form)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Transcoded() != c.transcoded {
			t.Errorf("%s, form %d: transcoded %v, want %v", c.file, c.form, resp.Transcoded(), c.transcoded)
		}
		want := decodedFile(t, c.file)
		got, err := resp.Proto()
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("%s, form %d: got %v (%v), want %v", c.file, c.form, got, err, want)
		}
	}
}

func TestAnswerIn(t *testing.T) {
	for _, c := range []struct {
		query, contentType string
		want               answer
	}{
		{"", "application/proto", answerProto},
		{"", "application/json", answerJSON},
		{"", "application/json; charset=utf-8", answerJSON},
		{"", "application/grpc", answerProto},
		{"", "application/grpc+proto", answerProto},
		{"", "application/grpc+json", answerJSON},
		{"", "application/grpc-web+json", answerJSON},
		{"encoding=proto", "", answerProto},
		{"encoding=json", "", answerJSON},
	} {
		peer := connect.Peer{}
		if c.query != "" {
			peer.Query = map[string][]string{}
			k, v, _ := strings.Cut(c.query, "=")
			peer.Query.Set(k, v)
		}
		header := http.Header{}
		header.Set("Content-Type", c.contentType)
		if got := answerIn(peer, header); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.query, c.contentType, got, c.want)
		}
	}
}

// decodedFile is GetIntegration's response to the body in the translator's
// testdata file name, as the decoder makes it.
func decodedFile(t *testing.T, name string) *ampersandv1.GetIntegrationResponse {
	t.Helper()
	body, err := os.ReadFile("../translate/testdata/integrations/" + name)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// everyEncoding is the fixture's four clients, and the JSON, GET and gzip
// encodings beside them.
func everyEncoding(f *fixture) map[string]ampersandv1connect.IntegrationServiceClient {
	clients := maps.Clone(f.clients)
	url, hc := f.serverURL, f.httpClient
	clients["connect-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithProtoJSON())
	clients["grpc-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithGRPC(), connect.WithProtoJSON())
	clients["grpcweb-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithGRPCWeb(), connect.WithProtoJSON())
	clients["get"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithHTTPGet())
	clients["get-json"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithHTTPGet(), connect.WithProtoJSON())
	clients["gzip"] = ampersandv1connect.NewIntegrationServiceClient(hc, url, connect.WithSendGzip())
	return clients
}
