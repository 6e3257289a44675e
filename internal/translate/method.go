package translate

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Method is the REST binding of one RPC, read once from its
// google.api.http rule: the verb, the path template and the fields that
// fill it, the body, the query parameters and where the response goes.
// It is safe for concurrent use.
type Method struct {
	desc     protoreflect.MethodDescriptor
	verb     string
	segments []segment
	pathSet  map[protoreflect.FieldNumber]bool
	// body is nil for no body, the request's plan with bodyAll for "*",
	// or the field holding the body.
	bodyAll   bool
	bodyField *fieldPlan
	query     []*fieldPlan
	request   *plan
	response  *plan
	// responseBody is the response field holding the REST body; nil when
	// the response message is the body.
	responseBody *fieldPlan
	// wire and json are the transcoder's outputs (see [Method.Transcode]
	// and [Method.TranscodeJSON]).
	wire, json output
	project    protoreflect.FieldDescriptor
	template   string // the path with its parameters' REST names
}

// segment is a literal part of a path template, or the field that fills a
// variable.
type segment struct {
	literal string
	field   protoreflect.FieldDescriptor
}

// NewMethod reads the REST binding of a method from its descriptor. It
// fails when the method has no google.api.http rule or the rule names
// fields the request does not have.
func NewMethod(md protoreflect.MethodDescriptor) (*Method, error) {
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		return nil, fmt.Errorf("%s: no google.api.http rule", md.FullName())
	}
	m := &Method{desc: md, pathSet: map[protoreflect.FieldNumber]bool{}}
	var template string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		m.verb, template = "GET", p.Get
	case *annotations.HttpRule_Put:
		m.verb, template = "PUT", p.Put
	case *annotations.HttpRule_Post:
		m.verb, template = "POST", p.Post
	case *annotations.HttpRule_Delete:
		m.verb, template = "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		m.verb, template = "PATCH", p.Patch
	default:
		return nil, fmt.Errorf("%s: unsupported google.api.http pattern", md.FullName())
	}
	var err error
	if m.request, err = planFor(md.Input()); err != nil {
		return nil, err
	}
	if m.response, err = planFor(md.Output()); err != nil {
		return nil, err
	}
	in := md.Input().Fields()
	for template != "" {
		i := strings.IndexByte(template, '{')
		if i < 0 {
			m.segments = append(m.segments, segment{literal: template})
			m.template += template
			break
		}
		j := strings.IndexByte(template[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%s: unterminated variable in %q", md.FullName(), template)
		}
		if i > 0 {
			m.segments = append(m.segments, segment{literal: template[:i]})
			m.template += template[:i]
		}
		name, _, _ := strings.Cut(template[i+1:i+j], "=")
		fd := in.ByName(protoreflect.Name(name))
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() || fd.IsMap() {
			return nil, fmt.Errorf("%s: path variable %q is not a string field of %s", md.FullName(), name, md.Input().FullName())
		}
		m.segments = append(m.segments, segment{field: fd})
		m.pathSet[fd.Number()] = true
		m.template += "{" + fd.JSONName() + "}"
		template = template[i+j+1:]
	}
	switch rule.GetBody() {
	case "":
	case "*":
		m.bodyAll = true
	default:
		fd := in.ByName(protoreflect.Name(rule.GetBody()))
		if fd == nil {
			return nil, fmt.Errorf("%s: body field %q not found", md.FullName(), rule.GetBody())
		}
		m.bodyField = m.request.fieldByNumber(fd.Number())
	}
	if !m.bodyAll {
		for _, fp := range m.request.fields {
			if !m.pathSet[fp.fd.Number()] && (m.bodyField == nil || fp != m.bodyField) {
				m.query = append(m.query, fp)
			}
		}
	}
	if rb := rule.GetResponseBody(); rb != "" {
		fd := md.Output().Fields().ByName(protoreflect.Name(rb))
		if fd == nil {
			return nil, fmt.Errorf("%s: response_body field %q not found", md.FullName(), rb)
		}
		m.responseBody = m.response.fieldByNumber(fd.Number())
	}
	m.project = in.ByName("project_id_or_name")
	m.wire.covered = transcodable(m.response, false, map[*plan]bool{})
	m.json.covered = transcodable(m.response, true, map[*plan]bool{})
	return m, nil
}

func (pl *plan) fieldByNumber(n protoreflect.FieldNumber) *fieldPlan {
	for _, fp := range pl.fields {
		if fp.fd.Number() == n {
			return fp
		}
	}
	return nil
}

// Verb is the method's HTTP verb.
func (m *Method) Verb() string { return m.verb }

// Descriptor is the method's descriptor.
func (m *Method) Descriptor() protoreflect.MethodDescriptor { return m.desc }

// Project returns the project a request names (its project_id_or_name),
// or "" when the method names none.
func (m *Method) Project(req proto.Message) string {
	if m.project == nil {
		return ""
	}
	return req.ProtoReflect().Get(m.project).String()
}

// Request is the REST call of an RPC's request.
type Request struct {
	// Method is the HTTP verb.
	Method string
	// Path is the path relative to the API's base URL, each parameter
	// escaped: "/projects/my-project/integrations/read-accounts".
	Path string
	// RawQuery is the encoded query, without '?'; "" for none.
	RawQuery string
	// Body is the JSON body; nil when the call has none.
	Body []byte
}

// MaxParamLen bounds a path parameter, in bytes.
const MaxParamLen = 1024

// NewRequest makes the REST call of a request message. Every path
// parameter must be one the upstream may be sent (not empty, "." or "..",
// at most [MaxParamLen] bytes, no control characters); every other
// character is path-escaped. A value with no REST form (an enum's zero
// value in a list, a oneof with no variant set) is a [*FieldError].
func (m *Method) NewRequest(msg proto.Message) (*Request, error) {
	r := msg.ProtoReflect()
	if r.Descriptor().FullName() != m.desc.Input().FullName() {
		return nil, fmt.Errorf("request is a %s, want a %s", r.Descriptor().FullName(), m.desc.Input().FullName())
	}
	var violations []*FieldError
	var path strings.Builder
	for _, s := range m.segments {
		if s.field == nil {
			path.WriteString(s.literal)
			continue
		}
		value := r.Get(s.field).String()
		if err := ValidateParam(value); err != nil {
			violations = append(violations, &FieldError{Field: string(s.field.Name()), Description: err.Error()})
			continue
		}
		path.WriteString(url.PathEscape(value))
	}
	if len(violations) > 0 {
		return nil, &RequestError{Violations: violations}
	}
	req := &Request{Method: m.verb, Path: path.String()}
	e := &encoder{}
	var query []byte
	for _, fp := range m.query {
		if !r.Has(fp.fd) {
			continue
		}
		e.stack = append(e.stack[:0], string(fp.fd.Name()))
		query = e.queryParam(query, fp, r.Get(fp.fd))
	}
	req.RawQuery = string(query)
	switch {
	case m.bodyAll:
		e.stack = e.stack[:0]
		e.object(m.request, r, m.pathSet)
		req.Body = e.buf
	case m.bodyField != nil:
		e.stack = append(e.stack[:0], string(m.bodyField.fd.Name()))
		if r.Has(m.bodyField.fd) {
			e.field(m.bodyField, r.Get(m.bodyField.fd))
		} else if m.bodyField.value.msg != nil && m.bodyField.value.msg.wkt == wktNone {
			e.object(m.bodyField.value.msg, r.Get(m.bodyField.fd).Message(), nil)
		} else {
			e.buf = append(e.buf, "null"...)
		}
		req.Body = e.buf
	}
	if e.err != nil {
		return nil, &RequestError{Violations: []*FieldError{e.err}}
	}
	return req, nil
}

// RequestError is a request the translator refuses, with every field at
// fault.
type RequestError struct {
	Violations []*FieldError
}

func (e *RequestError) Error() string {
	return "invalid request: " + e.Violations[0].Error()
}

// queryParam appends one query parameter (repeated for each element of a
// list): its REST name, and its value as the REST JSON would spell it,
// without quotes.
func (e *encoder) queryParam(query []byte, fp *fieldPlan, v protoreflect.Value) []byte {
	add := func(value protoreflect.Value) {
		text := e.queryValue(&fp.value, value)
		if len(query) > 0 {
			query = append(query, '&')
		}
		query = append(query, url.QueryEscape(fp.name)...)
		query = append(query, '=')
		query = append(query, url.QueryEscape(text)...)
	}
	switch {
	case fp.list:
		for i := range v.List().Len() {
			add(v.List().Get(i))
		}
	case fp.isMap:
		e.fail("a map cannot be a query parameter")
	default:
		add(v)
	}
	return query
}

func (e *encoder) queryValue(vp *valuePlan, v protoreflect.Value) string {
	switch vp.kind {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if vp.msg.wkt != wktTimestamp {
			e.fail("a message cannot be a query parameter")
			return ""
		}
	}
	start := len(e.buf)
	e.value(vp, v)
	text := string(e.buf[start:])
	e.buf = e.buf[:start]
	if unquoted, err := strconv.Unquote(text); err == nil && strings.HasPrefix(text, `"`) {
		return unquoted
	}
	return text
}

// ValidateParam checks a path parameter: not empty, "." or "..", at most
// [MaxParamLen] bytes, no control characters (U+0000 to U+001F, U+007F).
func ValidateParam(value string) error {
	switch {
	case value == "":
		return errors.New("must not be empty")
	case value == "." || value == "..":
		return errors.New(`must not be "." or ".."`)
	case len(value) > MaxParamLen:
		return fmt.Errorf("must be at most %d bytes", MaxParamLen)
	case strings.ContainsFunc(value, func(r rune) bool { return r <= 0x1f || r == 0x7f }):
		return errors.New("must not contain control characters")
	}
	return nil
}

// NewResponse translates the body of a 2xx answer into a new response
// message: JSON into the message itself or into its response_body field,
// text/plain into a string response_body field, an empty body into an
// empty message. Enum values the schema does not know become zero and are
// reported to unknownEnum with where they were. A body that cannot be
// translated is an [*InvalidError].
//
// The message's strings share body's bytes where the JSON holds them as
// they are (no escapes), instead of copying them: body must not be changed
// once it is passed, and stays in memory while any of them does.
func (m *Method) NewResponse(body []byte, contentType string, unknownEnum func(path, value string)) (proto.Message, error) {
	out := m.response.newMessage()
	if len(body) == 0 && len(m.response.fields) == 0 {
		return out.Interface(), nil
	}
	if len(body) == 0 {
		return nil, &InvalidError{What: m.what(), Path: "(body)", Reason: "empty body, want JSON"}
	}
	mediaType := mediaTypeOf(contentType)
	if mediaType == "text/plain" {
		if m.responseBody == nil || m.responseBody.value.kind != protoreflect.StringKind || m.responseBody.list || m.responseBody.isMap {
			return nil, &InvalidError{What: m.what(), Path: "(body)", Reason: "a text/plain body where JSON was expected"}
		}
		out.Set(m.responseBody.fd, protoreflect.ValueOfString(strings.ToValidUTF8(string(body), "\uFFFD")))
		return out.Interface(), nil
	}
	if mediaType != "application/json" {
		return nil, &InvalidError{What: m.what(), Path: "(body)", Reason: fmt.Sprintf("content type %q is not application/json", contentType)}
	}
	var err error
	if m.responseBody != nil {
		err = decodeFieldBody(body, m.responseBody, out, unknownEnum)
	} else {
		err = decodeBody(body, m.response, out, unknownEnum)
	}
	if err != nil {
		var invalid *InvalidError
		if errors.As(err, &invalid) {
			invalid.What = m.what()
		}
		return nil, err
	}
	return out.Interface(), nil
}

// what names what a response body holds, for messages.
func (m *Method) what() string {
	if m.responseBody != nil {
		return strings.ReplaceAll(string(m.responseBody.fd.Name()), "_", " ")
	}
	return "response"
}

// Template is the REST path template with its parameters' REST names:
// "/projects/{projectIdOrName}/integrations/{integrationIdOrName}".
func (m *Method) Template() string { return m.template }

func (pl *plan) newMessage() protoreflect.Message { return pl.typ.New() }

// mediaTypeOf is the media type of a Content-Type header, lower case,
// without its parameters: the common "application/json" and
// "application/json; charset=utf-8" without parsing.
func mediaTypeOf(contentType string) string {
	switch contentType {
	case "application/json", "application/json; charset=utf-8":
		return "application/json"
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mediaType
}
