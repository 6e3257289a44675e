package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// overGRPC are the operations also called over gRPC (on the main port and
// on the -grpc-addr port) and gRPC-Web: one of each verb, and each shape
// of body and answer (a body field beside query parameters, a body with an
// untagged oneof, maps of wrappers, a map answer, a text answer, no answer).
var overGRPC = map[string]bool{
	"getIntegration":              true,
	"createInstallation":          true,
	"updateInstallation":          true,
	"batchUpsertIntegrations":     true,
	"deleteInstallation":          true,
	"patchObjectConfigContent":    true,
	"upsertMetadataForConnection": true,
	"listProviders":               true,
	"oauthConnect":                true,
}

// TestEveryOperation calls every operation of openapi/ampersand-api.json
// through the real binary, against a stand-in upstream, with requests and
// answers made from the spec:
//   - a request with every field set (the first variant of each oneof)
//     reaches the upstream as exactly the REST call the spec describes: its
//     verb, its path with each parameter escaped, every query parameter by
//     its REST name, and the JSON body, compared with a reference made here
//     from the request's proto-JSON and the spec's schemas (restValue), not
//     by internal/translate;
//   - an answer with every property of the spec's response schema set comes
//     back as a response whose proto-JSON stands for that same REST body
//     (text/plain and bodiless answers too);
//   - both again with the other values: false and 0 in every boolean and
//     number, which keep their presence both ways, the other end of each
//     enum, and the last variant of each oneof;
//   - a problem+json 404 comes back as not_found with one ErrorInfo and the
//     whole problem as an ampersand.v1.Problem detail;
//   - for one operation of each verb, a retryable 503 comes back as
//     unavailable with RetryInfo, after one upstream request for POST and
//     PATCH and three (retries) for GET, PUT and DELETE.
//
// Every operation is called over Connect with JSON; those of overGRPC also
// over gRPC on both ports and over gRPC-Web, in binary.
func TestEveryOperation(t *testing.T) {
	t.Parallel()
	sp := sharedSpec(t)
	up := newOpsUpstream(t)
	p := start(t, nil, "-upstream", up.URL+"/v1", "-grpc-addr", "127.0.0.1:0")
	base := "http://" + p.addr
	connectJSON := connectCaller("connect-json", http.DefaultClient, base, connect.WithCodec(dynamicCodec{json: true}))
	callers := []rpcCaller{
		grpcCaller(t, "grpc-main-port", p.addr),
		grpcCaller(t, "grpc-port", p.grpcAddr),
		connectCaller("grpc-web", http.DefaultClient, base, connect.WithGRPCWeb(), connect.WithCodec(dynamicCodec{})),
	}

	// The operations whose 503 is tried: the first of each verb.
	unavailable := map[string]bool{}
	verbs := map[string]bool{}
	for _, op := range sp.ops {
		if !verbs[op.Verb] {
			verbs[op.Verb], unavailable[op.ID] = true, true
		}
	}
	if len(verbs) != 5 {
		t.Errorf("the spec's verbs: %v, want GET, PUT, POST, PATCH and DELETE", verbs)
	}
	for id := range overGRPC {
		sp.op(t, id)
	}

	for _, op := range sp.ops {
		t.Run(op.RPC, func(t *testing.T) {
			t.Parallel()
			x := newExchange(t, up, op)
			x.succeed(t, connectJSON, false)
			x.succeed(t, connectJSON, true)
			x.notFound(t, connectJSON)
			if overGRPC[op.ID] {
				for _, c := range callers {
					x.succeed(t, c, false)
					x.notFound(t, c)
				}
			}
			if unavailable[op.ID] {
				x.unavailable(t, connectJSON)
			}
		})
	}
}

// exchange is what the calls of one operation share: the method, its
// rule, and requests with every field set.
type exchange struct {
	up   *opsUpstream
	op   *specOp
	md   protoreflect.MethodDescriptor
	rule *annotations.HttpRule
	req  proto.Message
	// alt is a request with the other values (see populate).
	alt proto.Message
}

func newExchange(t *testing.T, up *opsUpstream, op *specOp) *exchange {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(op.Service + "." + op.RPC))
	if err != nil {
		t.Fatalf("no RPC for %s: %v", op.ID, err)
	}
	md := d.(protoreflect.MethodDescriptor)
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	req, alt := mt.New(), mt.New()
	populate(req, 0, false)
	populate(alt, 0, true)
	return &exchange{
		up:   up,
		op:   op,
		md:   md,
		rule: proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule),
		req:  req.Interface(),
		alt:  alt.Interface(),
	}
}

// key names one call: the upstream tells calls apart by the API key, which
// the service forwards unchanged.
func (x *exchange) key(c rpcCaller, what string) string {
	return "key-" + x.op.ID + "-" + c.name + "-" + what
}

// succeed makes the call with every field set, checks the REST call the
// upstream got, and the response made from a full answer; with alt, both
// have the other values (see populate and sampler).
func (x *exchange) succeed(t *testing.T, c rpcCaller, alt bool) {
	t.Helper()
	key, req := x.key(c, "ok"), x.req
	if alt {
		key, req = x.key(c, "alt"), x.alt
	}
	answer := cannedAnswer{status: x.op.Status}
	var sample any
	switch {
	case x.op.Text:
		answer.contentType, answer.body = "text/plain; charset=utf-8", []byte("plain text, é\n")
	case x.op.Response != nil:
		sample = canonical(t, (&sampler{alt: alt}).value(x.op.Response))
		for _, err := range validateSample(x.op.Response.Value, sample) {
			t.Errorf("the answer made from the spec does not fit its schema: %v", err)
		}
		answer.contentType, answer.body = "application/json", mustJSON(t, sample)
	}
	x.up.answer(key, answer)
	resp, err := c.call(context.Background(), x.md, key, req)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	seen := x.up.requests(key)
	if len(seen) != 1 {
		t.Fatalf("%s: the upstream got %d requests, want 1", key, len(seen))
	}
	x.checkRequest(t, key, req, seen[0])
	x.checkResponse(t, key, resp, answer, sample)
}

// checkRequest compares the REST call the upstream got with the one the
// spec describes for req.
func (x *exchange) checkRequest(t *testing.T, caller string, req proto.Message, got seenRequest) {
	t.Helper()
	fields := protoJSONObject(t, req)
	if got.method != x.op.Verb {
		t.Errorf("%s: verb %s, want %s", caller, got.method, x.op.Verb)
	}

	// The path: each parameter one escaped segment (or part of one).
	rawPath, rawQuery, _ := strings.Cut(got.uri, "?")
	rawPath, ok := strings.CutPrefix(rawPath, "/v1")
	template := strings.Split(x.op.Path, "/")
	segments := strings.Split(rawPath, "/")
	if !ok || len(segments) != len(template) {
		t.Errorf("%s: path %s, want the segments of /v1%s", caller, got.uri, x.op.Path)
	} else {
		for i, segment := range template {
			for _, name := range (&specOp{Path: segment}).pathParams() {
				value, _ := fields[name].(string)
				if value == "" {
					t.Fatalf("%s: the request sets no %s", caller, name)
				}
				segment = strings.Replace(segment, "{"+name+"}", value, 1)
			}
			if decoded, err := url.PathUnescape(segments[i]); err != nil || decoded != segment {
				t.Errorf("%s: path segment %q (%q), want %q escaped", caller, segments[i], decoded, segment)
			}
		}
	}

	// The query: every query parameter, by its REST name.
	want := url.Values{}
	for _, p := range x.op.queryParams() {
		v, ok := fields[p.Name]
		if !ok {
			t.Fatalf("%s: the request sets no %s", caller, p.Name)
		}
		rest, err := restValue(p.Name, p.Schema, v)
		if err != nil {
			t.Fatal(err)
		}
		if list, ok := rest.([]any); ok {
			for _, item := range list {
				want.Add(p.Name, fmt.Sprint(item))
			}
		} else {
			want.Add(p.Name, fmt.Sprint(rest))
		}
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil || !reflect.DeepEqual(query, want) && (len(query) > 0 || len(want) > 0) {
		t.Errorf("%s: query %q (%v), want %v", caller, rawQuery, query, want)
	}

	// The body: JSON, as the spec's schema writes what the request holds.
	contentType, _, _ := mime.ParseMediaType(got.header.Get("Content-Type"))
	if x.op.Body == nil {
		if len(got.body) != 0 || contentType != "" {
			t.Errorf("%s: a body (%q, %q) where the spec has none", caller, contentType, got.body)
		}
	} else {
		var body any
		if x.rule.GetBody() == "*" {
			members := map[string]any{}
			for k, v := range fields {
				if x.op.param("path", k) == nil && x.op.param("query", k) == nil {
					members[k] = v
				}
			}
			body = members
		} else {
			bodyField := x.md.Input().Fields().ByName(protoreflect.Name(x.rule.GetBody()))
			body = fields[bodyField.JSONName()]
		}
		wantBody, err := restValue("body", x.op.Body, body)
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", caller, got.header.Get("Content-Type"))
		}
		var gotBody any
		if err := json.Unmarshal(got.body, &gotBody); err != nil {
			t.Errorf("%s: the body is not JSON: %v\n%s", caller, err, got.body)
		} else if wantBody = canonical(t, wantBody); !reflect.DeepEqual(gotBody, wantBody) {
			t.Errorf("%s: body\n%s\nwant\n%s", caller, mustJSON(t, gotBody), mustJSON(t, wantBody))
		}
	}
	if accept := got.header.Get("Accept"); !strings.Contains(accept, "application/json") || !strings.Contains(accept, "application/problem+json") {
		t.Errorf("%s: Accept %q", caller, accept)
	}
}

// checkResponse checks that the response stands for the answer: its
// proto-JSON (or its response_body field's), read by the spec's schema, is
// the REST body sent.
func (x *exchange) checkResponse(t *testing.T, caller string, resp proto.Message, answer cannedAnswer, sample any) {
	t.Helper()
	if resp.ProtoReflect().Descriptor().FullName() != x.md.Output().FullName() {
		t.Fatalf("%s: a %s, want a %s", caller, resp.ProtoReflect().Descriptor().FullName(), x.md.Output().FullName())
	}
	fields := protoJSONObject(t, resp)
	var got any = fields
	if rb := x.rule.GetResponseBody(); rb != "" {
		fd := x.md.Output().Fields().ByName(protoreflect.Name(rb))
		got = fields[fd.JSONName()]
		if len(fields) != 1 {
			t.Errorf("%s: the response has %d fields set, want %s alone", caller, len(fields), rb)
		}
	}
	switch {
	case x.op.Text:
		if got != string(answer.body) {
			t.Errorf("%s: text %q, want %q", caller, got, answer.body)
		}
	case x.op.Response == nil:
		if len(fields) != 0 {
			t.Errorf("%s: %v from an answer without a body, want an empty response", caller, fields)
		}
	default:
		rest, err := restValue("response", x.op.Response, got)
		if err != nil {
			t.Fatalf("%s: %v", caller, err)
		}
		if rest = canonical(t, rest); !reflect.DeepEqual(rest, sample) {
			t.Errorf("%s: the response stands for\n%s\nthe upstream sent\n%s", caller, mustJSON(t, rest), mustJSON(t, sample))
		}
	}
}

// notFound checks a problem+json 404 answer.
func (x *exchange) notFound(t *testing.T, c rpcCaller) {
	t.Helper()
	key := x.key(c, "404")
	x.up.answer(key, cannedAnswer{status: 404, contentType: "application/problem+json", body: []byte(
		`{"type":"about:blank","title":"Not Found","status":404,"detail":"no such thing: ` + x.op.ID + `","requestId":"req-` + x.op.ID + `",` +
			`"issues":[{"name":"thing","detail":"unknown","in":"path","value":"x"}]}`)})
	_, err := c.call(context.Background(), x.md, key, x.req)
	e := x.checkError(t, c.name, err, connect.CodeNotFound, "NOT_FOUND", "404")
	if e.problem.GetDetail() != "no such thing: "+x.op.ID || e.problem.GetStatus() != 404 || e.problem.GetRequestId() != "req-"+x.op.ID ||
		len(e.problem.GetIssues()) != 1 || e.problem.GetIssues()[0].GetValue().GetStringValue() != "x" {
		t.Errorf("%s: problem %v", c.name, e.problem)
	}
	if e.info.GetMetadata()["requestId"] != "req-"+x.op.ID || e.requestInfo.GetRequestId() != "req-"+x.op.ID {
		t.Errorf("%s: ErrorInfo %v and RequestInfo %v, want the request ID", c.name, e.info, e.requestInfo)
	}
	if e.badRequest == nil || e.badRequest.GetFieldViolations()[0].GetField() != "thing" {
		t.Errorf("%s: BadRequest %v, want the problem's issue", c.name, e.badRequest)
	}
	if n := len(x.up.requests(key)); n != 1 {
		t.Errorf("%s: the upstream got %d requests, want 1", c.name, n)
	}
}

// unavailable checks a retryable 503: tried again for GET, PUT and DELETE,
// not for POST and PATCH.
func (x *exchange) unavailable(t *testing.T, c rpcCaller) {
	t.Helper()
	key := x.key(c, "503")
	x.up.answer(key, cannedAnswer{status: 503, contentType: "application/problem+json", body: []byte(
		`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"down for a moment","retryable":true}`)})
	_, err := c.call(context.Background(), x.md, key, x.req)
	e := x.checkError(t, c.name, err, connect.CodeUnavailable, "SERVICE_UNAVAILABLE", "503")
	if !e.problem.GetRetryable() || e.problem.GetDetail() != "down for a moment" {
		t.Errorf("%s: problem %v", c.name, e.problem)
	}
	if e.retryInfo == nil {
		t.Errorf("%s: no RetryInfo for a retryable problem", c.name)
	}
	want := 3
	if x.op.Verb == http.MethodPost || x.op.Verb == http.MethodPatch {
		want = 1
	}
	if n := len(x.up.requests(key)); n != want {
		t.Errorf("%s: %s: the upstream got %d requests, want %d", c.name, x.op.Verb, n, want)
	}
}

// rpcError is an RPC's error, whatever the protocol, with the details the
// tests look at.
type rpcError struct {
	code        connect.Code
	message     string
	info        *errdetails.ErrorInfo
	problem     *ampersandv1.Problem
	retryInfo   *errdetails.RetryInfo
	requestInfo *errdetails.RequestInfo
	badRequest  *errdetails.BadRequest
}

// checkError checks an upstream error's code and its ErrorInfo, exactly
// one, and that it carries the problem.
func (x *exchange) checkError(t *testing.T, caller string, err error, code connect.Code, reason, httpStatus string) *rpcError {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v", caller, code)
	}
	e := &rpcError{}
	var details []any
	var connectErr *connect.Error
	if errors.As(err, &connectErr) {
		e.code, e.message = connectErr.Code(), connectErr.Message()
		for _, d := range connectErr.Details() {
			v, err := d.Value()
			if err != nil {
				t.Fatalf("%s: detail %s: %v", caller, d.Type(), err)
			}
			details = append(details, v)
		}
	} else if st, ok := status.FromError(err); ok {
		e.code, e.message = connect.Code(st.Code()), st.Message()
		details = st.Details()
	} else {
		t.Fatalf("%s: %T %v", caller, err, err)
	}
	infos := 0
	for _, d := range details {
		switch v := d.(type) {
		case *errdetails.ErrorInfo:
			e.info = v
			infos++
		case *ampersandv1.Problem:
			e.problem = v
		case *errdetails.RetryInfo:
			e.retryInfo = v
		case *errdetails.RequestInfo:
			e.requestInfo = v
		case *errdetails.BadRequest:
			e.badRequest = v
		case error:
			t.Errorf("%s: a detail that does not decode: %v", caller, v)
		}
	}
	if e.code != code {
		t.Errorf("%s: code %v (%s), want %v", caller, e.code, e.message, code)
	}
	if !strings.Contains(e.message, "upstream answered "+httpStatus) {
		t.Errorf("%s: message %q, want one that says the upstream answered %s", caller, e.message, httpStatus)
	}
	if infos != 1 || e.info.GetDomain() != "api.withampersand.com" || e.info.GetReason() != reason || e.info.GetMetadata()["httpStatus"] != httpStatus {
		t.Errorf("%s: %d ErrorInfo, the last %v; want one with reason %s and httpStatus %s", caller, infos, e.info, reason, httpStatus)
	}
	if e.problem == nil {
		t.Fatalf("%s: no ampersand.v1.Problem detail", caller)
	}
	return e
}

// rpcCaller calls an RPC by its descriptor over one protocol, with an API
// key.
type rpcCaller struct {
	name string
	call func(ctx context.Context, md protoreflect.MethodDescriptor, key string, req proto.Message) (proto.Message, error)
}

func procedure(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

func newOutput(md protoreflect.MethodDescriptor) proto.Message {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		panic(err)
	}
	return mt.New().Interface()
}

// connectCaller calls with connect-go's client (Connect, or gRPC-Web with
// connect.WithGRPCWeb), whose messages are any message: see dynamicCodec.
func connectCaller(name string, httpClient connect.HTTPClient, baseURL string, opts ...connect.ClientOption) rpcCaller {
	return rpcCaller{name: name, call: func(ctx context.Context, md protoreflect.MethodDescriptor, key string, req proto.Message) (proto.Message, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		client := connect.NewClient[dynamic, dynamic](httpClient, baseURL+procedure(md), append(opts,
			connect.WithResponseInitializer(func(_ connect.Spec, msg any) error {
				msg.(*dynamic).Message = newOutput(md)
				return nil
			}))...)
		r := connect.NewRequest(&dynamic{Message: req})
		r.Header().Set("X-Api-Key", key)
		resp, err := client.CallUnary(ctx, r)
		if err != nil {
			return nil, err
		}
		return resp.Msg.Message, nil
	}}
}

// grpcCaller calls with grpc-go over a connection to addr.
func grpcCaller(t *testing.T, name, addr string) rpcCaller {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return rpcCaller{name: name, call: func(ctx context.Context, md protoreflect.MethodDescriptor, key string, req proto.Message) (proto.Message, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out := newOutput(md)
		err := conn.Invoke(metadata.AppendToOutgoingContext(ctx, "x-api-key", key), procedure(md), req, out)
		return out, err
	}}
}

// dynamic carries any message through connect-go's generic client.
type dynamic struct{ proto.Message }

// dynamicCodec encodes a dynamic's message, in JSON or binary.
type dynamicCodec struct{ json bool }

func (c dynamicCodec) Name() string {
	if c.json {
		return "json"
	}
	return "proto"
}

func (c dynamicCodec) Marshal(v any) ([]byte, error) {
	m := message(v)
	if c.json {
		return protojson.Marshal(m)
	}
	return proto.Marshal(m)
}

func (c dynamicCodec) Unmarshal(data []byte, v any) error {
	m := message(v)
	if c.json {
		return protojson.Unmarshal(data, m)
	}
	return proto.Unmarshal(data, m)
}

// message is the message of a dynamic, or v itself (connect-go decodes a
// gRPC-Web error's google.rpc.Status with the client's codec).
func message(v any) proto.Message {
	if d, ok := v.(*dynamic); ok {
		return d.Message
	}
	return v.(proto.Message)
}

// opsUpstream is a stand-in REST API that answers each API key as told,
// and records what it got.
type opsUpstream struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]cannedAnswer
	seen    map[string][]seenRequest
}

type cannedAnswer struct {
	status      int
	contentType string
	body        []byte
}

type seenRequest struct {
	method string
	uri    string // the request URI, as sent
	header http.Header
	body   []byte
}

func newOpsUpstream(t *testing.T) *opsUpstream {
	u := &opsUpstream{answers: map[string]cannedAnswer{}, seen: map[string][]seenRequest{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := r.Header.Get("X-Api-Key")
		u.mu.Lock()
		u.seen[key] = append(u.seen[key], seenRequest{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body})
		answer, ok := u.answers[key]
		u.mu.Unlock()
		if !ok {
			http.Error(w, "no answer for this key", http.StatusTeapot)
			return
		}
		if answer.contentType != "" {
			w.Header().Set("Content-Type", answer.contentType)
		}
		w.WriteHeader(answer.status)
		_, _ = w.Write(answer.body)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *opsUpstream) answer(key string, a cannedAnswer) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.answers[key] = a
}

func (u *opsUpstream) requests(key string) []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[key]
}

// protoJSONObject is a message's proto-JSON, decoded with numbers kept as
// written.
func protoJSONObject(t *testing.T, m proto.Message) map[string]any {
	t.Helper()
	data, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// canonical is v as encoding/json decodes its JSON: numbers are float64,
// so that values compare by meaning, not spelling.
func canonical(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal(mustJSON(t, v), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// populate sets every field of m (the first variant of each oneof), with
// values that have a REST form, to depth 8; strings hold characters a
// path or a query must escape, enums their last value. With alt, it sets
// the other values: booleans false, numbers 0, enums their first value
// (after _UNSPECIFIED), and the last variant of each oneof.
func populate(m protoreflect.Message, depth int, alt bool) {
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		ts, _ := time.Parse(time.RFC3339Nano, sampleTime)
		proto.Merge(m.Interface(), timestamppb.New(ts))
		return
	case "google.protobuf.Struct":
		s, _ := structpb.NewStruct(map[string]any{"a": "b", "n": 1.5, "list": []any{true, nil}})
		proto.Merge(m.Interface(), s)
		return
	case "google.protobuf.Value":
		proto.Merge(m.Interface(), structpb.NewStringValue("v"))
		return
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		od := fd.ContainingOneof()
		inOneof := od != nil && !od.IsSynthetic()
		variant := 0
		if alt && inOneof {
			variant = od.Fields().Len() - 1
		}
		if inOneof && od.Fields().Get(variant) != fd || depth > 8 && !inOneof {
			continue // past depth 8, only what a oneof needs
		}
		switch {
		case fd.IsList():
			list := m.Mutable(fd).List()
			if fd.Kind() == protoreflect.MessageKind {
				populate(list.AppendMutable().Message(), depth+1, alt)
			} else {
				list.Append(scalarValue(fd, alt))
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			key := protoreflect.ValueOfString("key-é/?#%").MapKey()
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				populate(mp.Mutable(key).Message(), depth+1, alt)
			} else {
				mp.Set(key, scalarValue(fd.MapValue(), alt))
			}
		case fd.Kind() == protoreflect.MessageKind:
			populate(m.Mutable(fd).Message(), depth+1, alt)
		default:
			m.Set(fd, scalarValue(fd, alt))
		}
	}
}

func scalarValue(fd protoreflect.FieldDescriptor, alt bool) protoreflect.Value {
	switch {
	case alt && fd.Kind() == protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(fd.Enum().Values().Get(1).Number())
	case alt && fd.Kind() != protoreflect.StringKind:
		return fd.Default() // false, 0
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(string(fd.Name()) + "-é/?#%&= +")
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(-7)
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(1 << 40)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(2.5)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(fd.Enum().Values().Get(fd.Enum().Values().Len() - 1).Number())
	}
	panic("no scalar of kind " + fd.Kind().String())
}
