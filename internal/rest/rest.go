// Package rest is a client of Ampersand's REST API (openapi/ampersand-api.json
// at the repository's root): it makes one REST call, as package translate
// describes it, with the caller's credentials, retries what is safe to
// retry, and returns the body of a 2xx answer. It knows HTTP and problem
// documents, and nothing of Connect or protobuf. Every answer that is not
// a 2xx becomes an [*Error].
package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// DefaultBaseURL is the base URL of Ampersand's public REST API.
const DefaultBaseURL = "https://api.withampersand.com/v1"

const (
	// DefaultMaxBodySize bounds the body of a successful answer.
	DefaultMaxBodySize = 16 << 20
	// maxErrorBodySize bounds the body of an error answer.
	maxErrorBodySize = 1 << 20
)

// Credentials are the upstream's own credentials, forwarded unchanged.
// Either or both may be set.
type Credentials struct {
	// APIKey is sent as the X-Api-Key header.
	APIKey string
	// Authorization is sent as the Authorization header (e.g. "Bearer JWT").
	Authorization string
}

// Empty reports whether no credential is set.
func (c Credentials) Empty() bool { return c.APIKey == "" && c.Authorization == "" }

// Client calls Ampersand's REST API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	httpClient  *http.Client
	userAgent   string
	maxBodySize int64
	retry       RetryPolicy
	tracer      trace.Tracer                  // nil: no spans
	propagator  propagation.TextMapPropagator // nil: no trace context sent upstream
	port        int                           // the base URL's port
}

// Option configures a [Client].
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for calls. The client is copied
// and its CheckRedirect replaced: redirects are never followed, so that
// credentials are never sent to any host but the base URL's. The default is
// a client over a pooled transport that keeps connections alive and uses
// HTTP/2 where the upstream offers it.
func WithHTTPClient(c *http.Client) Option {
	return func(client *Client) {
		copied := *c
		client.httpClient = &copied
	}
}

// WithUserAgent sets the User-Agent header. The default is "ampersand-connect".
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithMaxBodySize bounds the body of a successful answer; a larger one is an
// [*InvalidResponseError]. The default is [DefaultMaxBodySize].
func WithMaxBodySize(n int64) Option {
	return func(c *Client) { c.maxBodySize = n }
}

// WithRetryPolicy sets which failed calls are tried again. The default is
// [DefaultRetryPolicy].
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p }
}

// New returns a client of the REST API at baseURL, an absolute http or https
// URL such as [DefaultBaseURL].
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:        base,
		httpClient:  &http.Client{Transport: NewTransport()},
		userAgent:   "ampersand-connect",
		maxBodySize: DefaultMaxBodySize,
		retry:       DefaultRetryPolicy,
	}
	for _, opt := range opts {
		opt(c)
	}
	c.httpClient.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	c.port = defaultPort(base.Scheme)
	if port, err := strconv.Atoi(base.Port()); err == nil {
		c.port = port
	}
	return c, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // its message quotes the URL, which may hold a password
		}
		return nil, fmt.Errorf("upstream URL %s: %w", quoteURL(raw), err)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("upstream URL %s: must not hold user information", u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("upstream URL %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("upstream URL %q: no host", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("upstream URL %q: must not have a query or fragment", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// quoteURL quotes a URL that did not parse, unless it may hold a password.
func quoteURL(raw string) string {
	if strings.Contains(raw, "@") {
		return "(redacted)"
	}
	return strconv.Quote(raw)
}

// NewTransport returns the transport a [Client] uses by default: pooled,
// keep-alive connections, HTTP/2 where offered, and the proxy that Go's
// standard environment variables name (HTTPS_PROXY, HTTP_PROXY, NO_PROXY;
// see [http.ProxyFromEnvironment]). An https upstream is reached through an
// HTTPS proxy by a CONNECT tunnel, so the proxy sees the upstream's host and
// port but neither the request nor its credentials; an http upstream's
// requests, credentials included, go to an HTTP proxy as they are.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// Call is one REST call.
type Call struct {
	// Method is the HTTP verb.
	Method string
	// Path is the path relative to the base URL, each parameter escaped:
	// "/projects/my-project/integrations/read-accounts".
	Path string
	// RawQuery is the encoded query, without '?'.
	RawQuery string
	// Body is the JSON body; nil for none.
	Body []byte
	// Template is the path with its parameters' names, for spans:
	// "/projects/{projectIdOrName}/integrations/{integrationIdOrName}".
	Template string
	// Retry lets the client try the call again after a safe failure: set
	// it for calls that are safe to repeat (GET, PUT, DELETE).
	Retry bool
}

// URL returns the call's URL.
func (c *Client) URL(call Call) string {
	u := *c.base
	u.Path = c.base.Path + mustUnescape(call.Path)
	u.RawPath = c.base.EscapedPath() + call.Path
	u.RawQuery = call.RawQuery
	return u.String()
}

func mustUnescape(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// Body is the body of a successful answer, not yet decoded.
type Body struct {
	// Data is the body, of at most the client's maximum body size.
	Data []byte
	// StatusCode is the answer's 2xx status.
	StatusCode int
	// ContentType is the answer's Content-Type header.
	ContentType string
}

// Do makes a call and returns the body of its 2xx answer. The call ends
// with ctx. When call.Retry is set, safe failures are tried again as the
// client's [RetryPolicy] says, never past ctx's deadline; the error
// returned is the last attempt's.
//
// A non-2xx answer is an [*Error]; a 2xx answer whose body is too large
// is an [*InvalidResponseError]; a call cut short by ctx returns an error
// wrapping ctx's error (and cause); any other failure to reach the
// upstream is an [*UnreachableError].
func (c *Client) Do(ctx context.Context, creds Credentials, call Call) (Body, error) {
	trace := TraceFrom(ctx)
	for attempt := 1; ; attempt++ {
		start := time.Now()
		body, resp, err := c.attempt(ctx, attempt, creds, call)
		wait, retry, reason := c.retry.decide(ctx, attempt, err)
		if !call.Retry && retry {
			retry, reason = false, "method not retried"
		}
		if trace != nil {
			trace.Attempts = append(trace.Attempts, newAttempt(resp, err, time.Since(start), reason))
		}
		if !retry {
			return body, err
		}
		if err := sleep(ctx, wait); err != nil {
			return Body{}, fmt.Errorf("wait to retry: %w", err)
		}
	}
}

// newAttempt describes an attempt that got resp (nil when there was no
// answer) and failed with err.
func newAttempt(resp *http.Response, err error, d time.Duration, reason string) Attempt {
	a := Attempt{Duration: d, RetryReason: reason}
	if resp != nil {
		a.StatusCode = resp.StatusCode
		a.RequestID = resp.Header.Get("X-Request-Id")
	}
	var upstreamErr *Error
	if a.RequestID == "" && errors.As(err, &upstreamErr) && upstreamErr.Problem != nil {
		a.RequestID = upstreamErr.Problem.RequestID
	}
	var unreachable *UnreachableError
	switch {
	case errors.As(err, &unreachable):
		a.Cause, a.Failure = unreachable.Kind, unreachable.Detail()
	case errors.Is(err, context.DeadlineExceeded):
		a.Cause = KindTimeout
	case errors.Is(err, context.Canceled):
		a.Cause = KindCanceled
	case err != nil && resp == nil:
		a.Cause = KindOther
	}
	return a
}

// send makes one attempt of Do. It returns the response it got, if any,
// its body closed.
func (c *Client) send(ctx context.Context, creds Credentials, call Call) (Body, *http.Response, error) {
	var body io.Reader
	if call.Body != nil {
		body = bytes.NewReader(call.Body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, c.URL(call), body)
	if err != nil {
		return Body{}, nil, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json, text/plain")
	req.Header.Set("User-Agent", c.userAgent)
	if call.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if creds.APIKey != "" {
		req.Header.Set("X-Api-Key", creds.APIKey)
	}
	if creds.Authorization != "" {
		req.Header.Set("Authorization", creds.Authorization)
	}
	if c.propagator != nil {
		c.propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Body{}, nil, fmt.Errorf("call upstream: %w", contextError(ctx))
		}
		return Body{}, nil, newUnreachableError(err)
	}
	defer resp.Body.Close()
	if err := CheckResponse(resp); err != nil {
		return Body{}, resp, err
	}
	data, err := readBodySized(resp.Body, resp.ContentLength, c.maxBodySize)
	if err != nil {
		if ctx.Err() != nil {
			return Body{}, resp, fmt.Errorf("read answer: %w", contextError(ctx))
		}
		if errors.Is(err, errBodyTooLarge) {
			return Body{}, resp, &InvalidResponseError{StatusCode: resp.StatusCode, Reason: fmt.Sprintf("body exceeds %d bytes", c.maxBodySize)}
		}
		return Body{}, resp, newUnreachableError(fmt.Errorf("read body: %w", err))
	}
	return Body{Data: data, StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}, resp, nil
}

// contextError returns ctx's cause when it is a context error wrapped by
// the cause, and ctx's error joined with its cause otherwise, so that
// errors.Is finds both [context.DeadlineExceeded] and a custom cause.
func contextError(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || errors.Is(cause, err) {
		return err
	}
	return errors.Join(err, cause)
}

var errBodyTooLarge = errors.New("body too large")

// readBody reads at most limit bytes of r, and fails with errBodyTooLarge
// when there is more.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// readBodySized is readBody for a body whose length may be known: it reads
// into one buffer of that size instead of growing one.
func readBodySized(r io.Reader, length, limit int64) ([]byte, error) {
	if length <= 0 || length > limit {
		return readBody(r, limit)
	}
	body := make([]byte, length, length+1)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	// The body must end where its length said.
	if n, _ := r.Read(body[length : length+1]); n > 0 {
		return nil, errors.New("body longer than its Content-Length")
	}
	return body, nil
}

// isMediaType reports whether the Content-Type header value names the
// media type want, ignoring case and parameters.
func isMediaType(header, want string) bool {
	mediaType, _, err := mime.ParseMediaType(header)
	return err == nil && mediaType == want
}
