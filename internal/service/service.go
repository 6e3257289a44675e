// Package service serves every RPC of the ampersand.v1 schema over Connect,
// gRPC and gRPC-Web: for each call it makes the REST call the method's
// google.api.http rule describes (package translate), with the caller's
// credentials, through package rest; translates the answer into the
// response message; and converts every failure into a Connect error with
// rich, standard error details (see the README's "Errors").
// [Service.Handlers] are the Connect handlers; [Service.RegisterGRPC]
// serves the same calls on grpc-go's transport.
package service

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/ampersand-connect/gateway/internal/cache"
	"github.com/ampersand-connect/gateway/internal/codec"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/translate"
)

// DefaultUpstreamTimeout is the service's own budget for one call's upstream work.
const DefaultUpstreamTimeout = 30 * time.Second

// Upstream makes REST calls. [*rest.Client] implements it.
type Upstream interface {
	Do(ctx context.Context, creds rest.Credentials, call rest.Call) (rest.Body, error)
}

// Service serves every RPC of the schema. It is safe for concurrent use.
type Service struct {
	services        []*serviceOps
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
	cache           *cache.Cache // nil: no cache
	memo            *cache.Cache // the last response per call key, reused while the upstream's body is the same
}

// The memo's bounds: it holds what the last answers were made from, and is
// always on, since a response made from the same bytes is the same.
const (
	memoBytes = 32 << 20
	memoTTL   = time.Hour
)

// memoSeed seeds the digests of upstream bodies. Digests are compared only
// within one call key (one credential, one REST call), in this process.
var memoSeed = maphash.MakeSeed()

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
// indices and keys ("latestRevision.content.read.objects[].delivery.mode"),
// a small set fit for a metric label. Such values are also logged. The default is
// to only log them.
func WithUnknownEnumObserver(observe func(field string)) Option {
	return func(s *Service) { s.onUnknownEnum = observe }
}

// WithCache keeps the successful responses of GET operations for ttl, in
// at most maxBytes of memory (least recently used first out), keyed by a
// hash of the credentials and the REST call. A successful write (POST,
// PUT, PATCH, DELETE) drops the caller's answers for its project. A zero ttl, the default, keeps nothing. With
// the handler options of [Service.HandlerOptions], a hit is served without
// encoding the response again.
func WithCache(ttl time.Duration, maxBytes int64) Option {
	return func(s *Service) {
		if ttl > 0 && maxBytes > 0 {
			s.cache = cache.New(ttl, maxBytes)
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
		memo:            cache.NewMemo(memoTTL, memoBytes),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.services = schemaServices()
	return s
}

// HandlerOptions returns the Connect handler options the service wants:
// codecs that encode a response sent by several calls (cached, or shared by
// coalesced calls) once per codec.
func (s *Service) HandlerOptions() []connect.HandlerOption {
	codecs := codec.Connect()
	opts := make([]connect.HandlerOption, len(codecs))
	for i, c := range codecs {
		opts[i] = connect.WithCodec(c)
	}
	return opts
}

// indexes matches the array indices and map keys of a path.
var indexes = regexp.MustCompile(`\[(\d+|"(?:[^"\\]|\\.)*")\]`)

// answer is the form of a call's response: the encoding the client reads,
// which the upstream's body is transcoded into when it can be, or the
// message.
type answer uint8

const (
	answerMessage answer = iota // the message, decoded
	answerProto                 // the proto encoding
	answerJSON                  // proto JSON
)

// call serves a call of op, whatever its transport, with the credentials
// the client sent, answering in the form the client reads.
// Its errors are *connect.Error.
func (s *Service) call(ctx context.Context, op *operation, req proto.Message, creds rest.Credentials, form answer) (*codec.Message, error) {
	if n := s.inFlight.Add(1); s.maxInFlight > 0 && n > s.maxInFlight {
		s.inFlight.Add(-1)
		if s.onShed != nil {
			s.onShed()
		}
		return nil, overloadedError(s.maxInFlight)
	}
	defer s.inFlight.Add(-1)
	restReq, err := op.method.NewRequest(req)
	if err != nil {
		return nil, invalidRequest(err)
	}
	if creds.Empty() {
		creds.APIKey = s.apiKey
	}
	if creds.Empty() && !s.anonymous {
		return nil, newError(connect.CodeUnauthenticated, ReasonMissingCredentials,
			"no credentials: send an x-api-key or an authorization header",
			map[string]string{"headers": "x-api-key, authorization"})
	}
	call := rest.Call{
		Method:   restReq.Method,
		Path:     restReq.Path,
		RawQuery: restReq.RawQuery,
		Body:     restReq.Body,
		Template: op.method.Template(),
		Retry:    op.retry,
	}
	var scope cache.Key // the caller's project, for the cache alone
	if s.cache != nil {
		scope = newCallKey(creds, "project", op.method.Project(req))
	}
	var key cache.Key
	var generation uint64
	if op.shared {
		key = newCallKey(creds, call.Path, call.RawQuery)
		if resp := s.cache.Get(key); resp != nil {
			return resp, nil
		}
		generation = s.cache.Generation()
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
	var resp *codec.Message
	if op.shared {
		resp, err = s.calls.do(ctx, key, cause, func(ctx context.Context) (*codec.Message, error) {
			return s.fetch(ctx, op, key, creds, call, redact, form)
		})
	} else {
		resp, err = s.fetch(ctx, op, key, creds, call, redact, form)
	}
	if trace := rest.TraceFrom(ctx); trace != nil {
		for i := range trace.Attempts { // the upstream's request IDs are logged
			trace.Attempts[i].RequestID = redact.text(trace.Attempts[i].RequestID)
		}
	}
	if err != nil {
		return nil, toConnectError(ctx, err, redact)
	}
	if op.shared {
		s.cache.PutIn(scope, generation, key, resp)
	} else {
		// A write: the caller reads its own writes.
		s.cache.DropScope(scope)
	}
	return resp, nil
}

// fetch makes an operation's REST call and translates its answer into the
// response message, unless (for a GET seen before) the upstream's body is
// the one the memo's response for key was made from. The answer is
// transcoded straight into the encoding form names when it can be, and
// decoded into the message otherwise. What it logs of the body goes
// through redact.
func (s *Service) fetch(ctx context.Context, op *operation, key cache.Key, creds rest.Credentials, call rest.Call, redact redactor, form answer) (*codec.Message, error) {
	body, err := s.upstream.Do(ctx, creds, call)
	if err != nil {
		return nil, err
	}
	// The memo is asked only for a call it has seen before: the first
	// call of a key costs neither a digest of its body nor a response kept.
	var digest uint64
	memoize := op.shared && s.memo.Seen(key)
	if memoize {
		digest = maphash.Bytes(memoSeed, body.Data)
		if resp, unknown := s.memo.Memoized(key, digest, len(body.Data)); resp != nil {
			for _, u := range unknown {
				s.reportUnknownEnum(ctx, op.procedure, u, redact)
			}
			return resp, nil
		}
	}
	// A body the transcoder takes has no unknown enum value to report.
	var resp *codec.Message
	switch form {
	case answerProto:
		if wire, ok := op.method.Transcode(body.Data, body.ContentType); ok {
			resp = codec.Transcoded(wire, op.output)
		}
	case answerJSON:
		if js, ok := op.method.TranscodeJSON(body.Data, body.ContentType); ok {
			data, contentType := body.Data, body.ContentType
			resp = codec.TranscodedJSON(js, op.output, len(data), func() (proto.Message, error) {
				return op.method.NewResponse(data, contentType, nil)
			})
		}
	}
	if resp != nil {
		if memoize {
			s.memo.PutMemo(key, resp, digest, len(body.Data), nil)
		}
		return resp, nil
	}
	var unknown []cache.UnknownValue
	out, err := op.method.NewResponse(body.Data, body.ContentType, func(path, value string) {
		u := cache.UnknownValue{Path: path, Value: value}
		unknown = append(unknown, u)
		s.reportUnknownEnum(ctx, op.procedure, u, redact)
	})
	if err != nil {
		var invalid *translate.InvalidError
		if errors.As(err, &invalid) {
			invalid.StatusCode = body.StatusCode
		}
		return nil, err
	}
	resp = &codec.Message{Message: out, Retains: len(body.Data)}
	if memoize {
		s.memo.PutMemo(key, resp, digest, len(body.Data), unknown)
	}
	return resp, nil
}

// reportUnknownEnum logs an enum value the schema does not know, and counts it.
func (s *Service) reportUnknownEnum(ctx context.Context, procedure string, u cache.UnknownValue, redact redactor) {
	s.logger.WarnContext(ctx, "unknown enum value from upstream",
		"procedure", procedure, "path", u.Path, "value", validUTF8(truncate(redact.text(u.Value), 64)))
	if s.onUnknownEnum != nil {
		s.onUnknownEnum(indexes.ReplaceAllString(u.Path, "[]"))
	}
}
