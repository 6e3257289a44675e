// Package demo is a stand-in for Ampersand's whole REST API, in memory, with
// no network and no credentials: every operation of
// openapi/ampersand-api.json answers, as the spec says it does.
//
// It is driven by the spec, which it reads when the first handler is made:
// the routes, the parameters and bodies a request may carry, the statuses,
// media types and shapes of the answers all come from there. What the spec
// cannot say (which resources exist, what an ID names, what a create or an
// updateMask does to them) is in this package's table of kinds and its few
// actions. Requests are checked against the spec (a missing required
// property is a 400 or 422 problem with one issue per property), answers
// are written through the spec's schemas, and an unknown ID gets a 404
// problem whose issues name the path parameter. Problems are
// application/problem+json, or application/json where the spec says so
// (the JWT key operations).
//
// A handler starts from a coherent sample: project "my-project" (ID
// "project-456") in org "org-123", its integrations "read-accounts" and
// "write-contacts", an installation of read-accounts for group "group-123"
// with its operation and logs, three connections, a destination, a topic with
// its routes, a provider app, an API key, a JWT key, and a provider catalog
// (salesforce, hubspot) with object metadata. What a client creates gets an
// ID of its own and the current time; the sample's IDs and times are fixed.
// A handler is safe for concurrent use and bounded: it holds at most
// [MaxPerKind] resources of a kind and [MaxStoredBytes] in all.
package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProjectName and ProjectID name the demo's sample project.
const (
	ProjectName = "my-project"
	ProjectID   = "project-456"
)

// Limits of a handler's memory.
const (
	// MaxPerKind is how many resources of one kind (projects,
	// installations, topics...) a handler holds; creating one more is a
	// 429 problem.
	MaxPerKind = 10_000
	// MaxStoredBytes is how much JSON a handler holds in all; a write that
	// would go beyond is a 429 problem.
	MaxStoredBytes = 64 << 20
	// MaxBodyBytes is the largest request body a handler reads; a larger
	// one is a 413 problem.
	MaxBodyBytes = 1 << 20
)

// Handler serves the demo API under /v1 (or at the root): see the package
// documentation. Make one with [NewHandler]; it is safe for concurrent use.
type Handler struct {
	api *api

	mu    sync.Mutex // held for the whole of each call
	store store
}

// NewHandler returns a handler that holds the sample. The first call in a
// process reads the spec (about 15 ms, 40 ms on a cold start), every call
// the sample (about 3 ms). It panics if the embedded spec or sample cannot
// be read, which the package's tests rule out.
func NewHandler() *Handler {
	a, err := loadAPI()
	if err != nil {
		panic(fmt.Sprintf("demo: %v", err))
	}
	h := &Handler{api: a}
	h.store.init()
	if err := h.seed(); err != nil {
		panic(fmt.Sprintf("demo: sample: %v", err))
	}
	return h
}

// Names returns the names of the demo project's integrations, sorted.
func (h *Handler) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	if col := h.store.collection("/projects/" + ProjectID + "/integrations"); col != nil {
		for _, res := range col.items {
			names = append(names, res.alias())
		}
	}
	slices.Sort(names)
	return names
}

// ServeHTTP serves one call of the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/v1/"); ok {
		path = "/" + rest
	}
	op, args, allow := h.api.route(r.Method, path)
	if op == nil {
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, "application/problem+json", &problem{status: http.StatusMethodNotAllowed, detail: fmt.Sprintf("%s is not a method of this route in the demo API: use %s", r.Method, listed(allow, "or"))})
			return
		}
		writeProblem(w, "application/problem+json", &problem{status: http.StatusNotFound, detail: "no such route in the demo API"})
		return
	}
	c := &call{h: h, op: op, r: r, args: map[string]string{}}
	i := 0
	for _, seg := range op.segs {
		if seg.param != "" {
			c.args[seg.param] = args[i]
			i++
		}
	}
	ans := c.serve()
	if ans.problem != nil {
		writeProblem(w, op.errorType(ans.problem.status), ans.problem)
		return
	}
	if ans.mediaType != "" {
		w.Header().Set("Content-Type", ans.mediaType)
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

// call is one request being served.
type call struct {
	h     *Handler
	op    *operation
	r     *http.Request
	args  map[string]string    // the path parameters, unescaped
	query map[string]any       // the query parameters the operation takes and the request set, decoded
	body  any                  // the JSON body, decoded and checked
	found map[string]*resource // the resource each path parameter names, for those that name one
	path  string               // the concrete path of the call: IDs for names
	now   string               // the time of the call, RFC 3339
}

// answer is what a call answers: a body or a problem.
type answer struct {
	status    int
	mediaType string
	body      []byte
	problem   *problem
}

// serve reads the request, then runs the operation's handler on the store.
func (c *call) serve() answer {
	if p := c.readQuery(); p != nil {
		return answer{problem: p}
	}
	if p := c.readBody(); p != nil {
		return answer{problem: p}
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	c.now = time.Now().UTC().Format(time.RFC3339Nano)
	if p := c.resolve(); p != nil {
		return answer{problem: p}
	}
	return c.op.serve(c)
}

// readQuery decodes the query parameters the operation declares.
func (c *call) readQuery() *problem {
	values := c.r.URL.Query()
	c.query = map[string]any{}
	var issues []inputIssue
	for _, p := range c.op.params {
		if p.In != "query" {
			continue
		}
		raw, ok := values[p.Name]
		if !ok {
			if p.Required {
				issues = append(issues, inputIssue{in: "query", issue: issue{name: p.Name, detail: "is required"}})
			}
			continue
		}
		s := p.Schema.deref()
		var v any = raw[0]
		switch s.Type {
		case "boolean":
			b, err := strconv.ParseBool(raw[0])
			if err != nil {
				issues = append(issues, inputIssue{in: "query", issue: issue{name: p.Name, detail: "must be true or false", value: raw[0]}})
				continue
			}
			v = b
		case "integer", "number":
			v = json.Number(raw[0])
		case "array":
			items := make([]any, len(raw))
			for i, r := range raw {
				items[i] = r
			}
			v = items
		}
		for _, is := range check(v, s, p.Name) {
			issues = append(issues, inputIssue{in: "query", issue: is})
		}
		c.query[p.Name] = v
	}
	if len(issues) > 0 {
		return c.invalid(issues)
	}
	return nil
}

// readBody reads and checks the JSON body the operation takes.
func (c *call) readBody() *problem {
	if c.op.body == nil {
		return nil
	}
	var data []byte
	var err error
	if c.r.Body != nil {
		data, err = io.ReadAll(io.LimitReader(c.r.Body, MaxBodyBytes+1))
	}
	if err != nil {
		return &problem{status: http.StatusBadRequest, detail: "could not read the request body"}
	}
	if len(data) > MaxBodyBytes {
		return &problem{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the request body is larger than the demo's %d bytes", MaxBodyBytes)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if c.op.bodyRequired {
			return c.invalid([]inputIssue{{in: "body", issue: issue{name: "", detail: "a JSON body is required"}}})
		}
		return nil
	}
	v, err := decodeJSON(data)
	if err != nil {
		return c.invalid([]inputIssue{{in: "body", issue: issue{detail: "the body is not JSON: " + err.Error()}}})
	}
	var issues []inputIssue
	for _, is := range check(v, c.op.body, "") {
		issues = append(issues, inputIssue{in: "body", issue: is})
	}
	if len(issues) > 0 {
		return c.invalid(issues)
	}
	c.body = v
	return nil
}

// invalid is the problem of a request that does not fit the spec: a 400,
// or a 422 when the operation lists that and not 400.
func (c *call) invalid(issues []inputIssue) *problem {
	status := http.StatusBadRequest
	if !c.op.declares(http.StatusBadRequest) && c.op.declares(http.StatusUnprocessableEntity) {
		status = http.StatusUnprocessableEntity
	}
	names := make([]string, 0, len(issues))
	for _, is := range issues {
		name := is.name
		if name == "" {
			name = "the body"
		}
		names = append(names, name+" "+is.detail)
	}
	return &problem{status: status, title: "Invalid input", detail: "invalid " + c.op.id + " request: " + strings.Join(names, "; "), issues: issues}
}

// flag returns the boolean query parameter name, false when unset.
func (c *call) flag(name string) bool {
	b, _ := c.query[name].(bool)
	return b
}

// object returns the body's object (the spec's bodies are objects).
func (c *call) object() map[string]any {
	obj, _ := c.body.(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	return obj
}

// ok answers with the operation's success status and v, written through
// its answer schema (v may be nil when the answer has no body).
func (c *call) ok(v any) answer {
	ans := answer{status: c.op.status, mediaType: c.op.mediaType}
	switch {
	case c.op.mediaType == "":
	case strings.HasPrefix(c.op.mediaType, "text/"):
		ans.mediaType += "; charset=utf-8"
		ans.body = []byte(fmt.Sprint(v))
	default:
		var buf bytes.Buffer
		encode(&buf, v, c.op.result)
		ans.body = buf.Bytes()
	}
	return ans
}

// okJSON answers with already written JSON.
func (c *call) okJSON(body []byte) answer {
	return answer{status: c.op.status, mediaType: c.op.mediaType, body: body}
}

// fail answers with a problem.
func fail(p *problem) answer { return answer{problem: p} }

// problem is an error answer: an InputValidationProblem.
type problem struct {
	status int
	title  string // the status text when empty
	detail string
	href   string
	issues []inputIssue
}

// inputIssue is an issue with the request, and where it is.
type inputIssue struct {
	in string // path, query or body
	issue
}

// writeProblem writes p in the shape the API's problems have.
func writeProblem(w http.ResponseWriter, mediaType string, p *problem) {
	title := p.title
	if title == "" {
		title = http.StatusText(p.status)
	}
	doc := map[string]any{
		"type":      "about:blank",
		"title":     title,
		"status":    p.status,
		"detail":    p.detail,
		"subsystem": "demo",
		"requestId": "demo-request",
	}
	if p.href != "" {
		doc["href"] = p.href
	}
	if len(p.issues) > 0 {
		issues := make([]any, len(p.issues))
		for i, is := range p.issues {
			entry := map[string]any{"in": is.in, "name": is.name, "detail": is.detail}
			if is.value != nil {
				entry["value"] = is.value
			}
			issues[i] = entry
		}
		doc["issues"] = issues
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(p.status)
	_ = json.NewEncoder(w).Encode(doc)
}

// Transport is an [http.RoundTripper] that serves every request with a
// handler, in process: no socket, no network.
type Transport struct {
	Handler http.Handler
}

// RoundTrip implements [http.RoundTripper].
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, req)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
