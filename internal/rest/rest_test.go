package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const minimalIntegration = `{"id":"i-1","projectId":"p-1","name":"read-accounts","provider":"salesforce","createTime":"2024-04-22T18:55:28Z"}`

// integrationTemplate is the template of getIntegration's path.
const integrationTemplate = "/projects/{projectIdOrName}/integrations/{integrationIdOrName}"

// getIntegration is the call the tests make most: GET an integration by
// project and integration, each escaped, retried.
func getIntegration(project, integration string) Call {
	return Call{
		Method:   http.MethodGet,
		Path:     "/projects/" + url.PathEscape(project) + "/integrations/" + url.PathEscape(integration),
		Template: integrationTemplate,
		Retry:    true,
	}
}

// setup starts a stand-in upstream whose mux fails the test loudly on any
// path nothing was registered for, and a client of it.
func setup(t *testing.T) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected upstream request: %s %s", r.Method, r.URL.EscapedPath())
		http.Error(w, "unexpected", http.StatusTeapot)
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	client, err := New(server.URL+"/v1", WithUserAgent("test-agent/1.0"), WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	return client, mux
}

func TestNewValidatesBaseURL(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "api.withampersand.com", "https://user:secret@[::1", "ftp://x/v1", "http://", "https://user:secret@x/v1", "https://x/v1?a=b", "https://x/v1#f", "http://[::1"} {
		_, err := New(bad)
		if err == nil {
			t.Errorf("New(%q): no error", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%q) error leaks the password: %v", bad, err)
		}
	}
	if _, err := New(DefaultBaseURL); err != nil {
		t.Errorf("New(DefaultBaseURL): %v", err)
	}
}

// TestURLEscapes checks that URL keeps each escaped path parameter as it
// was escaped, whatever it decodes to, and appends the raw query as it is.
func TestURLEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base                 string
		project, integration string
		rawQuery             string
		want                 string
	}{
		{"https://api.example.com/v1/", "my-project", "read-accounts", "", "https://api.example.com/v1/projects/my-project/integrations/read-accounts"},
		{"https://api.example.com/v1/", "a/b", "c?d", "", "https://api.example.com/v1/projects/a%2Fb/integrations/c%3Fd"},
		{"https://api.example.com/v1/", "x#y", "100%", "", "https://api.example.com/v1/projects/x%23y/integrations/100%25"},
		{"https://api.example.com/v1/", "with space", "ünïcode", "", "https://api.example.com/v1/projects/with%20space/integrations/%C3%BCn%C3%AFcode"},
		{"https://api.example.com/v1/", "...", "a..b", "", "https://api.example.com/v1/projects/.../integrations/a..b"},
		{"https://api.example.com/v1/", "%2F", "a+b", "", "https://api.example.com/v1/projects/%252F/integrations/a+b"},
		{"https://api.example.com/v1", "p", "i", "pageSize=10&pageToken=a%2Fb%3D", "https://api.example.com/v1/projects/p/integrations/i?pageSize=10&pageToken=a%2Fb%3D"},
		{"http://127.0.0.1:8080", "a/b", "i", "q=%23", "http://127.0.0.1:8080/projects/a%2Fb/integrations/i?q=%23"},
		{"https://api.example.com/base%20path/v1", "a b", "i", "", "https://api.example.com/base%20path/v1/projects/a%20b/integrations/i"},
	}
	for _, tt := range tests {
		client, err := New(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		call := getIntegration(tt.project, tt.integration)
		call.RawQuery = tt.rawQuery
		if got := client.URL(call); got != tt.want {
			t.Errorf("New(%q).URL(%+v) = %q, want %q", tt.base, call, got, tt.want)
		}
	}
}

func TestDoRequest(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	var got *http.Request
	mux.HandleFunc("GET /v1/projects/{project}/integrations/{integration}", func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, minimalIntegration)
	})
	body, err := client.Do(context.Background(),
		Credentials{APIKey: "key-123", Authorization: "Bearer jwt-456"}, getIntegration("my/project", "read accounts?"))
	if err != nil {
		t.Fatal(err)
	}
	if string(body.Data) != minimalIntegration || body.StatusCode != http.StatusOK || body.ContentType != "application/json; charset=utf-8" {
		t.Errorf("body = %+v, Data %s", body, body.Data)
	}
	if p := got.URL.EscapedPath(); p != "/v1/projects/my%2Fproject/integrations/read%20accounts%3F" {
		t.Errorf("path = %q", p)
	}
	if v := got.PathValue("project"); v != "my/project" {
		t.Errorf("project = %q", v)
	}
	for header, want := range map[string]string{
		"Accept":        "application/json, application/problem+json, text/plain",
		"User-Agent":    "test-agent/1.0",
		"X-Api-Key":     "key-123",
		"Authorization": "Bearer jwt-456",
	} {
		if v := got.Header.Get(header); v != want {
			t.Errorf("%s = %q, want %q", header, v, want)
		}
	}
}

// TestDoSendsEachVerb checks that each verb reaches the upstream with its
// method, its escaped path and raw query unchanged, and its JSON body with
// a Content-Type, or with neither body nor Content-Type when it has none;
// and that the answer comes back as it was sent.
func TestDoSendsEachVerb(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		call     Call
		status   int
		response string
	}{
		{"GET", Call{Method: http.MethodGet, Path: "/projects/my%20project/integrations", RawQuery: "pageSize=2&pageToken=a%2Fb%3D%3D"}, 200, `{"integrations":[]}`},
		{"POST", Call{Method: http.MethodPost, Path: "/projects/p/integrations", Body: []byte(`{"name":"read-accounts","latestRevision":{"specVersion":"1.0.0"}}`)}, 201, `{"id":"i-1"}`},
		{"POST with no body", Call{Method: http.MethodPost, Path: "/projects/p/integrations/i%3Fx/deploy"}, 200, `{}`},
		{"PUT", Call{Method: http.MethodPut, Path: "/projects/p/integrations/%C3%BCn%C3%AFcode", Body: []byte(`{"name":"ü"}`)}, 200, `{"name":"ü"}`},
		{"PATCH", Call{Method: http.MethodPatch, Path: "/projects/a%2Fb/installations/i", RawQuery: "updateMask=config.content%2Cname", Body: []byte(`{"updateMask":["name"]}`)}, 200, `{"id":"x"}`},
		{"DELETE", Call{Method: http.MethodDelete, Path: "/projects/p/integrations/100%25", RawQuery: "force=true"}, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			var got *http.Request
			var gotBody []byte
			mux.HandleFunc(tt.call.Method+" /v1/", func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(context.Background())
				gotBody, _ = io.ReadAll(r.Body)
				if tt.response != "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.response)
			})
			body, err := client.Do(context.Background(), Credentials{APIKey: "k"}, tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.call.Method || got.URL.EscapedPath() != "/v1"+tt.call.Path || got.URL.RawQuery != tt.call.RawQuery {
				t.Errorf("upstream got %s %s?%s, want %s /v1%s?%s", got.Method, got.URL.EscapedPath(), got.URL.RawQuery,
					tt.call.Method, tt.call.Path, tt.call.RawQuery)
			}
			if string(gotBody) != string(tt.call.Body) || got.ContentLength != int64(len(tt.call.Body)) {
				t.Errorf("upstream got body %q (Content-Length %d), want %q", gotBody, got.ContentLength, tt.call.Body)
			}
			contentType, hasContentType := got.Header["Content-Type"]
			if tt.call.Body != nil && got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", contentType)
			}
			if tt.call.Body == nil && (hasContentType || len(got.TransferEncoding) != 0) {
				t.Errorf("a call with no body sent Content-Type %q, Transfer-Encoding %q", contentType, got.TransferEncoding)
			}
			if string(body.Data) != tt.response || body.StatusCode != tt.status {
				t.Errorf("Do = %d %q, want %d %q", body.StatusCode, body.Data, tt.status, tt.response)
			}
		})
	}
}

// TestDoReturnsAny2xxAsItIs checks that a 2xx answer comes back with its
// body, status and content type, whatever they are: the caller checks it.
func TestDoReturnsAny2xxAsItIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string // "" sends none
		body        string
	}{
		{"204 with no body", 204, "", ""},
		{"200 text/plain", 200, "text/plain; charset=utf-8", "OK"},
		{"200 with no body", 200, "", ""},
		{"200 html", 200, "text/html", "<html>"},
		{"200 json that is not an object", 200, "application/json", "null"},
		{"200 json cut short", 200, "application/json", `{"id":`},
		{"202 json", 202, "application/json", `{"operation":"o-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("DELETE /v1/projects/p/integrations/i", func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			call := getIntegration("p", "i")
			call.Method = http.MethodDelete
			body, err := client.Do(context.Background(), Credentials{APIKey: "k"}, call)
			if err != nil {
				t.Fatal(err)
			}
			if string(body.Data) != tt.body || body.StatusCode != tt.status || body.ContentType != tt.contentType {
				t.Errorf("Do = %+v (Data %q), want %d %q %q", body, body.Data, tt.status, tt.contentType, tt.body)
			}
		})
	}
}

func TestDoSendsOnlyGivenCredentials(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	var headers atomic.Pointer[http.Header]
	mux.HandleFunc("GET /v1/projects/p/integrations/i", func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		headers.Store(&h)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, minimalIntegration)
	})
	for _, creds := range []Credentials{{APIKey: "k"}, {Authorization: "Bearer t"}, {}} {
		if _, err := client.Do(context.Background(), creds, getIntegration("p", "i")); err != nil {
			t.Fatal(err)
		}
		h := *headers.Load()
		if _, ok := h["X-Api-Key"]; ok != (creds.APIKey != "") {
			t.Errorf("creds %+v: X-Api-Key sent = %v", creds, ok)
		}
		if _, ok := h["Authorization"]; ok != (creds.Authorization != "") {
			t.Errorf("creds %+v: Authorization sent = %v", creds, ok)
		}
	}
}

func TestDoErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{
			name: "problem",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"type":"about:blank","title":"Not Found","status":404,"detail":"integration not found","requestId":"req-1","issues":[{"name":"x","detail":"bad","value":[1,"a"]}]}`)
			},
			check: func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || e.StatusCode != 404 || e.Problem == nil {
					t.Fatalf("err = %#v", err)
				}
				if e.Problem.Detail != "integration not found" || e.Problem.RequestID != "req-1" || len(e.Problem.Issues) != 1 || string(e.Problem.Issues[0].Value) != `[1,"a"]` {
					t.Errorf("problem = %+v", e.Problem)
				}
				if got := err.Error(); got != "upstream answered 404 Not Found: integration not found" {
					t.Errorf("Error() = %q", got)
				}
			},
		},
		{
			name: "html 502",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, "<html><body>Bad Gateway</body></html>")
			},
			check: func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || e.StatusCode != 502 || e.Problem != nil {
					t.Fatalf("err = %#v", err)
				}
			},
		},
		{
			name: "retry after",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "70") // too far to be waited for
				w.WriteHeader(http.StatusTooManyRequests)
			},
			check: func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || !e.HasRetryAfter || e.RetryAfter != 70*time.Second {
					t.Fatalf("err = %#v", err)
				}
			},
		},
		{
			name: "body over the limit",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"id":"%s"}`, strings.Repeat("x", 2048))
			},
			check: wantInvalid("body exceeds 1024 bytes"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server := httptest.NewServer(tt.handler)
			t.Cleanup(server.Close)
			client, err := New(server.URL, WithMaxBodySize(1024), WithRetryPolicy(fastRetries))
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Do(context.Background(), Credentials{APIKey: "k"}, getIntegration("p", "i"))
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}
}

func wantInvalid(substr string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var e *InvalidResponseError
		if !errors.As(err, &e) || e.StatusCode != 200 || !strings.Contains(e.Reason, substr) {
			t.Fatalf("err = %#v, want an InvalidResponseError about %q", err, substr)
		}
	}
}

// TestRedirectsAreNotFollowed checks that neither a same-host nor a
// cross-host redirect is followed: the target never receives the key.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
		if r.Header.Get("X-Api-Key") != "" || r.Header.Get("Authorization") != "" {
			t.Errorf("redirect target received credentials")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, minimalIntegration)
	}))
	t.Cleanup(target.Close)

	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, crossHost := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d cross-host=%v", status, crossHost), func(t *testing.T) {
				client, mux := setup(t)
				var sameHostHits atomic.Int32
				mux.HandleFunc("GET /elsewhere", func(w http.ResponseWriter, r *http.Request) {
					sameHostHits.Add(1)
				})
				mux.HandleFunc("GET /v1/projects/p/integrations/i", func(w http.ResponseWriter, r *http.Request) {
					location := "/elsewhere"
					if crossHost {
						location = target.URL + "/v1/projects/p/integrations/i"
					}
					http.Redirect(w, r, location, status)
				})
				_, err := client.Do(context.Background(), Credentials{APIKey: "secret-key", Authorization: "Bearer secret-jwt"}, getIntegration("p", "i"))
				var e *Error
				if !errors.As(err, &e) || e.StatusCode != status {
					t.Fatalf("err = %v, want the %d as an *Error", err, status)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error leaks a credential: %v", err)
				}
				if sameHostHits.Load() != 0 {
					t.Error("same-host redirect was followed")
				}
			})
		}
	}
	if targetHits.Load() != 0 {
		t.Errorf("cross-host redirect target was called %d times", targetHits.Load())
	}
}

func TestDoTransportErrors(t *testing.T) {
	t.Parallel()
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		server := httptest.NewServer(http.NotFoundHandler())
		url := server.URL
		server.Close()
		client, err := New(url, WithRetryPolicy(fastRetries))
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.Do(context.Background(), Credentials{APIKey: "k"}, getIntegration("p", "i"))
		var e *UnreachableError
		if !errors.As(err, &e) {
			t.Fatalf("err = %#v, want *UnreachableError", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(server.Close)
		t.Cleanup(func() { close(release) })
		client, err := New(server.URL)
		if err != nil {
			t.Fatal(err)
		}
		cause := errors.New("my cause")
		ctx, cancel := context.WithTimeoutCause(context.Background(), 50*time.Millisecond, cause)
		defer cancel()
		_, err = client.Do(ctx, Credentials{APIKey: "k"}, getIntegration("p", "i"))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, cause) {
			t.Fatalf("err = %v, want DeadlineExceeded with its cause", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		client, err := New("http://127.0.0.1:1")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = client.Do(ctx, Credentials{APIKey: "k"}, getIntegration("p", "i"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
	})
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	response := func(status int, contentType, body string, header ...string) *http.Response {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
	}
	if err := CheckResponse(response(200, "application/json", "{}")); err != nil {
		t.Errorf("200: %v", err)
	}
	if err := CheckResponse(response(204, "", "")); err != nil {
		t.Errorf("204: %v", err)
	}
	tests := []struct {
		name        string
		resp        *http.Response
		wantProblem bool
		wantRetry   time.Duration
		wantHas     bool
	}{
		{"problem", response(400, "application/problem+json", `{"title":"Bad Request"}`), true, 0, false},
		{"problem with charset", response(400, "Application/Problem+JSON; charset=utf-8", `{"title":"Bad Request"}`), true, 0, false},
		{"json not problem content type", response(400, "application/json", `{"title":"Bad Request"}`), false, 0, false},
		{"malformed problem", response(500, "application/problem+json", `{"title":`), false, 0, false},
		{"problem that is an array", response(500, "application/problem+json", `[1]`), false, 0, false},
		{"problem with a wrongly typed field", response(500, "application/problem+json", `{"status":"500"}`), false, 0, false},
		{"empty body", response(503, "", ""), false, 0, false},
		{"retry seconds", response(503, "", "", "Retry-After", "120"), false, 120 * time.Second, true},
		{"retry zero", response(503, "", "", "Retry-After", "0"), false, 0, true},
		{"retry garbage", response(503, "", "", "Retry-After", "soon"), false, 0, false},
		{"retry negative", response(503, "", "", "Retry-After", "-1"), false, 0, false},
		{"retry past date", response(503, "", "", "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"), false, 0, true},
		{"problem over 1 MiB", response(400, "application/problem+json", `{"title":"`+strings.Repeat("x", 1<<20)+`"}`), false, 0, false},
	}
	for _, tt := range tests {
		err := CheckResponse(tt.resp)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if (e.Problem != nil) != tt.wantProblem || e.RetryAfter != tt.wantRetry || e.HasRetryAfter != tt.wantHas {
			t.Errorf("%s: got problem=%v retry=%v/%v", tt.name, e.Problem != nil, e.RetryAfter, e.HasRetryAfter)
		}
	}
}

func TestParseRetryAfterDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got, ok := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now)
	if !ok || got != 90*time.Second {
		t.Errorf("got %v, %v", got, ok)
	}
}
