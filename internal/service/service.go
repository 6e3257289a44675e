// Package service implements ampersand.v1.IntegrationService over Connect,
// gRPC and gRPC-Web: it validates a request, picks its credentials, calls
// the upstream REST API through package rest, translates the integration into
// its proto message, and converts every failure into a Connect error with
// rich, standard error details (see CONTRACT.md §4). [Service.RegisterGRPC]
// serves the same calls on grpc-go's transport.
package service

import (
	"context"
	"hash/maphash"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// DefaultUpstreamTimeout is the service's own budget for one call's upstream work.
const DefaultUpstreamTimeout = 30 * time.Second

// Upstream gets integrations from the REST API. [*rest.Client] implements it.
type Upstream interface {
	GetIntegrationBody(ctx context.Context, creds rest.Credentials, projectIDOrName, integrationIDOrName string) (rest.Body, error)
}

// Service implements [ampersandv1connect.IntegrationServiceHandler]. It is
// safe for concurrent use.
type Service struct {
	upstream        Upstream
	apiKey          string
	anonymous       bool
	upstreamTimeout time.Duration
	logger          *slog.Logger
	onUnknownEnum   func(field string)
	calls           coalescer
	maxInFlight     int64 // 0: no bound
	inFlight        atomic.Int64
	onShed          func()
	cache           *cache // nil: no cache
	memo            *cache // the last response per call key, reused while the upstream's body is the same
}

// The memo's bounds: it holds what the last answers were made from, and is
// always on, since a response made from the same bytes is the same.
const (
	memoBytes = 32 << 20
	memoTTL   = time.Hour
)

// memoSeed seeds the digests of upstream bodies. Digests are compared only
// within one call key (one credential, one pair of names), in this process.
var memoSeed = maphash.MakeSeed()

var _ ampersandv1connect.IntegrationServiceHandler = (*Service)(nil)

// Option configures a [Service].
type Option func(*Service)

// WithAPIKey sets the key used when a client sends no credentials. The
// default is none: such a call fails with unauthenticated.
func WithAPIKey(key string) Option {
	return func(s *Service) { s.apiKey = key }
}

// WithAnonymous lets calls without any credentials through to the upstream
// (the demo upstream needs none). The default is to refuse them.
func WithAnonymous() Option {
	return func(s *Service) { s.anonymous = true }
}

// WithUpstreamTimeout sets the service's own budget for one call's upstream
// work; the client's deadline still wins when it ends first. The default is
// [DefaultUpstreamTimeout].
func WithUpstreamTimeout(d time.Duration) Option {
	return func(s *Service) { s.upstreamTimeout = d }
}

// WithLogger sets the logger. The default is [slog.Default].
func WithLogger(logger *slog.Logger) Option {
	return func(s *Service) { s.logger = logger }
}

// WithUnknownEnumObserver calls observe for each enum value the upstream
// sent that the schema does not know, with the field's path less its
// indices ("latestRevision.content.read.objects[].delivery.mode"), a small
// set fit for a metric label. Such values are also logged. The default is
// to only log them.
func WithUnknownEnumObserver(observe func(field string)) Option {
	return func(s *Service) { s.onUnknownEnum = observe }
}

// WithCache keeps successful responses for ttl, in at most maxBytes of
// memory (least recently used first out), keyed by a hash of the
// credentials and the names. A zero ttl, the default, keeps nothing. With
// the handler options of [Service.HandlerOptions], a hit is served without
// encoding the response again.
func WithCache(ttl time.Duration, maxBytes int64) Option {
	return func(s *Service) {
		if ttl > 0 && maxBytes > 0 {
			s.cache = newCache(ttl, maxBytes)
		}
	}
}

// WithMaxInFlight bounds the calls the service serves at once, on every
// transport together: a call beyond the bound is refused at once with
// resource_exhausted, a RetryInfo ([ShedRetryDelay]) and an ErrorInfo of
// reason OVERLOADED, instead of waiting for memory the calls in flight
// hold; onShed, if not nil, is told of each. n ≤ 0, the default, is no
// bound.
func WithMaxInFlight(n int, onShed func()) Option {
	return func(s *Service) { s.maxInFlight, s.onShed = int64(max(n, 0)), onShed }
}

// InFlight returns how many calls the service is serving.
func (s *Service) InFlight() int64 { return s.inFlight.Load() }

// New returns a service over upstream.
func New(upstream Upstream, opts ...Option) *Service {
	s := &Service{
		upstream:        upstream,
		upstreamTimeout: DefaultUpstreamTimeout,
		logger:          slog.Default(),
		memo:            newCache(memoTTL, memoBytes),
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// HandlerOptions returns the Connect handler options the service wants:
// codecs that encode a response sent by several calls (cached, or shared by
// coalesced calls) once per codec.
func (s *Service) HandlerOptions() []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithCodec(&cachingCodec{name: "proto", binary: true}),
		connect.WithCodec(&cachingCodec{name: "json"}),
		connect.WithCodec(&cachingCodec{name: "json; charset=utf-8"}),
	}
}

// indexes matches the array indices of a path.
var indexes = regexp.MustCompile(`\[\d+\]`)

// GetIntegration implements ampersand.v1.IntegrationService/GetIntegration.
func (s *Service) GetIntegration(ctx context.Context, req *connect.Request[ampersandv1.GetIntegrationRequest]) (*connect.Response[ampersandv1.GetIntegrationResponse], error) {
	creds := rest.Credentials{
		APIKey:        req.Header().Get("X-Api-Key"),
		Authorization: req.Header().Get("Authorization"),
	}
	resp, err := s.getIntegration(ctx, req.Spec().Procedure, req.Msg, creds)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(resp), nil
}

// getIntegration serves a call of procedure, whatever its transport, with
// the credentials the client sent. Its errors are *connect.Error.
func (s *Service) getIntegration(ctx context.Context, procedure string, msg *ampersandv1.GetIntegrationRequest, creds rest.Credentials) (*ampersandv1.GetIntegrationResponse, error) {
	if n := s.inFlight.Add(1); s.maxInFlight > 0 && n > s.maxInFlight {
		s.inFlight.Add(-1)
		if s.onShed != nil {
			s.onShed()
		}
		return nil, overloadedError(s.maxInFlight)
	}
	defer s.inFlight.Add(-1)
	if err := validate(msg); err != nil {
		return nil, err
	}
	if creds.Empty() {
		creds.APIKey = s.apiKey
	}
	if creds.Empty() && !s.anonymous {
		return nil, newError(connect.CodeUnauthenticated, ReasonMissingCredentials,
			"no credentials: send an x-api-key or an authorization header",
			map[string]string{"headers": "x-api-key, authorization"})
	}

	project, name := msg.GetProjectIdOrName(), msg.GetIntegrationIdOrName()
	key := newCallKey(creds, project, name)
	if resp := s.cache.get(key); resp != nil {
		return resp, nil
	}

	// The upstream budget: the client's deadline or the service's own
	// timeout, whichever ends first; the cause tells them apart.
	var cause error
	if deadline, ok := ctx.Deadline(); !ok || time.Now().Add(s.upstreamTimeout).Before(deadline) {
		cause = errUpstreamTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, s.upstreamTimeout, errUpstreamTimeout)
	defer cancel()
	redact := newRedactor(creds, s.apiKey)
	resp, err := s.calls.do(ctx, key, cause, func(ctx context.Context) (*ampersandv1.GetIntegrationResponse, error) {
		return s.fetch(ctx, procedure, key, creds, project, name, redact)
	})
	if trace := rest.TraceFrom(ctx); trace != nil {
		for i := range trace.Attempts { // the upstream's request IDs are logged
			trace.Attempts[i].RequestID = redact.text(trace.Attempts[i].RequestID)
		}
	}
	if err != nil {
		return nil, toConnectError(ctx, err, redact)
	}
	s.cache.put(key, resp)
	return resp, nil
}

// fetch gets an integration from the upstream and decodes it straight into
// its proto message, unless the upstream's body is the one the memo's
// response for key was made from. What it logs of the body goes through
// redact.
func (s *Service) fetch(ctx context.Context, procedure string, key callKey, creds rest.Credentials, project, name string, redact redactor) (*ampersandv1.GetIntegrationResponse, error) {
	body, err := s.upstream.GetIntegrationBody(ctx, creds, project, name)
	if err != nil {
		return nil, err
	}
	digest := maphash.Bytes(memoSeed, body.Data)
	if entry := s.memo.memoized(key, digest, len(body.Data)); entry != nil {
		for _, u := range entry.unknown {
			s.reportUnknownEnum(ctx, procedure, u, redact)
		}
		return entry.resp, nil
	}
	var unknown []unknownValue
	integration, err := decodeIntegration(body.Data, func(path, value string) {
		u := unknownValue{path, value}
		unknown = append(unknown, u)
		s.reportUnknownEnum(ctx, procedure, u, redact)
	})
	if err != nil {
		return nil, err
	}
	resp := &ampersandv1.GetIntegrationResponse{Integration: integration}
	s.memo.putEntry(&cacheEntry{key: key, resp: resp, digest: digest, length: len(body.Data), unknown: unknown})
	return resp, nil
}

// reportUnknownEnum logs an enum value the schema does not know, and counts it.
func (s *Service) reportUnknownEnum(ctx context.Context, procedure string, u unknownValue, redact redactor) {
	s.logger.WarnContext(ctx, "unknown enum value from upstream",
		"procedure", procedure, "path", u.path, "value", validUTF8(truncate(redact.text(u.value), 64)))
	if s.onUnknownEnum != nil {
		s.onUnknownEnum(indexes.ReplaceAllString(u.path, "[]"))
	}
}
