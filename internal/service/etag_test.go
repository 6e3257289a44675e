package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// TestETagDoesNotDependOnThePath: while the upstream's body does not
// change, a Connect GET for proto keeps its ETag (and gets 304), whether
// the response it is answered from was transcoded (fields in the body's
// order) or decoded (encoded by field number): found by a review.
func TestETagDoesNotDependOnThePath(t *testing.T) {
	body := demo.Sized(5000)
	svc := New(upstreamFunc(func() []byte { return body }), WithAnonymous())
	_, h := integrationHandler(svc)
	server := httptest.NewServer(ConditionalGET(h))
	defer server.Close()
	reqBytes, _ := proto.Marshal(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"})
	getURL := server.URL + ampersandv1connect.IntegrationServiceGetIntegrationProcedure +
		"?connect=v1&encoding=proto&base64=1&message=" + base64.RawURLEncoding.EncodeToString(reqBytes)
	get := func(etag string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, getURL, nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	postJSON := func() {
		resp, err := http.Post(server.URL+ampersandv1connect.IntegrationServiceGetIntegrationProcedure, "application/json",
			strings.NewReader(`{"projectIdOrName":"p","integrationIdOrName":"i"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	postProto := func() {
		resp, err := http.Post(server.URL+ampersandv1connect.IntegrationServiceGetIntegrationProcedure, "application/proto",
			bytes.NewReader(reqBytes))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_, etag := get("")
	postJSON() // the key's second call: the memo keeps the decoded response
	if status, again := get(etag); status != http.StatusNotModified {
		t.Errorf("same upstream body: status %d, ETag %s, want 304 for %s", status, again, etag)
	}
	// A proto POST of a new key leaves a transcoded response in the memo.
	svc2 := New(upstreamFunc(func() []byte { return body }), WithAnonymous())
	_, h2 := integrationHandler(svc2)
	server.Config.Handler = ConditionalGET(h2)
	postProto()
	postProto() // the memo keeps the transcoded response
	if status, again := get(etag); status != http.StatusNotModified {
		t.Errorf("from a transcoded response: status %d, ETag %s, want 304 for %s", status, again, etag)
	}
}

type upstreamFunc func() []byte

func (f upstreamFunc) Do(context.Context, rest.Credentials, rest.Call) (rest.Body, error) {
	return rest.Body{StatusCode: 200, ContentType: "application/json", Data: f()}, nil
}
