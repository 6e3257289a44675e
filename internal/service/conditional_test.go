package service

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

func TestConditionalGET(t *testing.T) {
	t.Parallel()
	client := fullIntegrationUpstream(t, new(atomic.Int32))
	mux := http.NewServeMux()
	New(client, WithAPIKey("k")).Mount(mux)
	server := httptest.NewServer(ConditionalGET(mux))
	t.Cleanup(server.Close)

	get := func(integration, ifNoneMatch string) *http.Response {
		t.Helper()
		query := url.Values{"encoding": {"json"}, "message": {`{"projectIdOrName":"p","integrationIdOrName":"` + integration + `"}`}}
		req, _ := http.NewRequest(http.MethodGet, server.URL+ampersandv1connect.IntegrationServiceGetIntegrationProcedure+"?"+query.Encode(), nil)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get("i", "")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" || first.Header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("first GET: %d %v", first.StatusCode, first.Header)
	}
	if second := get("i", ""); second.Header.Get("ETag") != etag {
		t.Errorf("the ETag of the same response changed: %q, %q", etag, second.Header.Get("ETag"))
	}
	for _, match := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
		if resp := get("i", match); resp.StatusCode != http.StatusNotModified || resp.ContentLength > 0 {
			t.Errorf("If-None-Match %s: %d", match, resp.StatusCode)
		}
	}
	if resp := get("i", `"stale"`); resp.StatusCode != 200 {
		t.Errorf("stale ETag: %d", resp.StatusCode)
	}
	if resp := get("missing", ""); resp.StatusCode != http.StatusNotFound || resp.Header.Get("ETag") != "" {
		t.Errorf("an error got an ETag: %d %v", resp.StatusCode, resp.Header)
	}
}
