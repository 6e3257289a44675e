package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/openapi"
)

// The tests of this file hold the demo to openapi/ampersand-api.json, read
// by kin-openapi (not by the demo's own reader): for every operation of the
// spec, a valid request gets the success the spec describes, an unknown ID
// a 404 problem, and a body without a required property a 400 or 422
// problem, each valid against the spec.

var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(openapi.Spec))
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background(), openapi3.DisableExamplesValidation())
})

// specOp is one operation of the spec.
type specOp struct {
	path, method string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

func (o specOp) String() string { return o.op.OperationID }

func specOps(t testing.TB) (*openapi3.T, []specOp) {
	t.Helper()
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var ops []specOp
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Find(path)
		for method, op := range item.Operations() {
			ops = append(ops, specOp{path: path, method: method, item: item, op: op})
		}
	}
	slices.SortFunc(ops, func(a, b specOp) int { return strings.Compare(a.op.OperationID, b.op.OperationID) })
	if len(ops) != 82 {
		t.Fatalf("the spec has %d operations, want 82", len(ops))
	}
	return doc, ops
}

// fixtures name what the sample holds, for every path parameter of the
// spec and for the body and query properties that refer to a resource.
var fixtures = map[string]string{
	"projectIdOrName":     demo.ProjectName,
	"integrationIdOrName": "read-accounts",
	"integrationId":       "read-accounts",
	"installationId":      "installation-123",
	"revisionId":          "revision-id-1",
	"objectName":          "account",
	"provider":            "salesforce",
	"operationId":         "operation-123",
	"providerAppId":       "provider-app-123",
	"apiKey":              "amp_demo_key_123",
	"connectionId":        "connection-123",
	"destination":         "accountWebhook",
	"destinationId":       "destination-123",
	"orgId":               "org-123",
	"parentId":            "org-123",
	"inviteId":            "invite-123",
	"billingAccountId":    "billing-account-123",
	"topicId":             "topic-123",
	"routeId":             "route-123",
	"keyId":               "550e8400-e29b-41d4-a716-446655440000",
	"groupRef":            "group-123",
	"builderId":           "builder-id-456",
	"invitedEmail":        "grace@example.com",
}

// manifest is an amp.yaml document: read-accounts revised, and a new
// integration.
const manifest = `specVersion: 1.0.0
integrations:
  - name: read-accounts
    displayName: Read Salesforce accounts
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: accountWebhook
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: name
  - name: read-leads
    provider: salesforce
    read:
      objects:
        - objectName: lead
          destination: accountWebhook
          schedule: "0 * * * *"
`

// adjust changes what the schema's examples give some bodies, where those
// name what the sample does not hold, or hold already.
var adjust = map[string]func(body map[string]any){
	"batchUpsertIntegrations": func(b map[string]any) { b["sourceYaml"] = manifest; delete(b, "sourceZipUrl") },
	"createRevision":          func(b map[string]any) { b["sourceYaml"] = manifest; delete(b, "sourceZipUrl") },
	"createIntegration":       func(b map[string]any) { b["name"] = "read-leads" },
	"createProject":           func(b map[string]any) { b["name"] = "my-other-project" },
	"claimDomain":             func(b map[string]any) { b["domain"] = "ada@acme.example" },
	// A first call: the sample has no flow to continue.
	"customAuthConnect": func(b map[string]any) { delete(b, "sessionId"); delete(b, "callbackParams") },
}

// call is one request of an operation, and the demo's answer.
type call struct {
	op      specOp
	params  map[string]string
	query   url.Values
	body    []byte
	status  int
	header  http.Header
	answer  []byte
	handler http.Handler
}

// newCall makes a valid request of op: path parameters from fixtures,
// required query parameters from fixtures or examples, and a body from the
// operation's example, else from its schema (the required properties and
// those with an example), with fixtures for the properties that refer to
// the sample.
func newCall(t testing.TB, op specOp) *call {
	t.Helper()
	c := &call{op: op, params: map[string]string{}, query: url.Values{}}
	for _, p := range op.op.Parameters {
		p := p.Value
		switch p.In {
		case "path":
			v, ok := fixtures[p.Name]
			if !ok {
				t.Fatalf("%s: no fixture for path parameter %s", op, p.Name)
			}
			c.params[p.Name] = v
		case "query":
			if !p.Required {
				continue
			}
			if v, ok := fixtures[p.Name]; ok {
				c.query.Set(p.Name, v)
				continue
			}
			switch p.Name {
			case "domain":
				c.query.Set(p.Name, "xyz@example.com")
			default:
				c.query.Set(p.Name, fmt.Sprint(example(p.Schema, p.Name)))
			}
		}
	}
	if rb := op.op.RequestBody; rb != nil {
		mt := rb.Value.Content.Get("application/json")
		candidates := []any{mt.Example}
		for _, name := range slices.Sorted(maps.Keys(mt.Examples)) {
			candidates = append(candidates, mt.Examples[name].Value.Value)
		}
		body := example(mt.Schema, "")
		for _, candidate := range candidates {
			// Some of the spec's examples do not fit its schemas.
			if candidate != nil && mt.Schema.Value.VisitJSON(roundTrip(t, candidate)) == nil {
				body = candidate
				break
			}
		}
		body = roundTrip(t, body)
		if obj, ok := body.(map[string]any); ok {
			for name, value := range obj {
				if v, ok := fixtures[name]; ok {
					if _, isString := value.(string); isString {
						obj[name] = v
					}
				}
			}
			if f := adjust[op.op.OperationID]; f != nil {
				f(obj)
			}
		}
		var err error
		if c.body, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// example makes up a value of s: for an object, its required properties
// and those with an example; else its example, when that fits.
func example(ref *openapi3.SchemaRef, name string) any {
	s := ref.Value
	if len(s.OneOf) > 0 {
		return example(s.OneOf[0], name)
	}
	props, required := map[string]*openapi3.SchemaRef{}, slices.Clone(s.Required)
	for _, part := range s.AllOf {
		if len(part.Value.OneOf) > 0 {
			part = part.Value.OneOf[0]
		}
		maps.Copy(props, part.Value.Properties)
		required = append(required, part.Value.Required...)
	}
	maps.Copy(props, s.Properties)
	isObject := s.Type.Is("object") || len(props) > 0
	if s.Example != nil && !isObject && s.VisitJSON(s.Example) == nil {
		return s.Example
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch {
	case isObject:
		obj := map[string]any{}
		for prop, p := range props {
			if slices.Contains(required, prop) || p.Value.Example != nil {
				obj[prop] = example(p, prop)
			}
		}
		return obj
	case s.Type.Is("array"):
		if s.MinItems > 0 {
			return []any{example(s.Items, name)}
		}
		return []any{}
	case s.Type.Is("string"):
		switch s.Format {
		case "date-time":
			return "2024-07-01T12:00:00Z"
		case "email":
			return "ada@example.com"
		case "uri":
			return "https://example.com/"
		}
		return "demo-" + name
	case s.Type.Is("integer"), s.Type.Is("number"):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case s.Type.Is("boolean"):
		return false
	}
	return "demo"
}

func roundTrip(t testing.TB, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// url is the request's URL, under the demo's base URL.
func (c *call) url() string {
	path := c.op.path
	for name, v := range c.params {
		path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(v))
	}
	u := "http://demo.invalid/v1" + path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	return u
}

func (c *call) request(t *testing.T) *http.Request {
	t.Helper()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequest(c.op.method, c.url(), body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// do sends the call to h.
func (c *call) do(t *testing.T, h http.Handler) *call {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.request(t))
	c.status, c.header, c.answer = rec.Code, rec.Header(), rec.Body.Bytes()
	return c
}

// validate checks the request and the answer against the spec: the
// answer's status must be one the operation lists (or its default), its
// media type that status's, its body valid against that schema. A value
// that fits more than one variant of a oneOf passes, since the service
// reads the first that fits (README, "The JSON shape").
//
// With requestToo, it checks that the request is valid too.
func (c *call) validate(t *testing.T, doc *openapi3.T, requestToo bool) error {
	t.Helper()
	input := &openapi3filter.RequestValidationInput{
		Request:    c.request(t),
		PathParams: c.params,
		Route:      &routers.Route{Spec: doc, Path: c.op.path, PathItem: c.op.item, Method: c.op.method, Operation: c.op.op},
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if requestToo {
		if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil && !onlyOneOfConflicts(err) {
			return fmt.Errorf("the test's request is not valid: %w", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 c.status,
		Header:                 c.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(c.answer)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil && !onlyOneOfConflicts(err) {
		return fmt.Errorf("answer %d %s is not valid: %w", c.status, c.answer, err)
	}
	return nil
}

// onlyOneOfConflicts reports whether every error in err is a value
// matching more than one variant of a oneOf.
func onlyOneOfConflicts(err error) bool {
	var leaves []error
	var walk func(error)
	walk = func(err error) {
		var multi openapi3.MultiError
		var re *openapi3filter.ResponseError
		var rq *openapi3filter.RequestError
		switch {
		case errors.As(err, &multi):
			for _, e := range multi {
				walk(e)
			}
		case errors.As(err, &re) && re.Err != nil:
			walk(re.Err)
		case errors.As(err, &rq) && rq.Err != nil:
			walk(rq.Err)
		default:
			leaves = append(leaves, err)
		}
	}
	walk(err)
	for _, leaf := range leaves {
		if !errors.Is(leaf, openapi3.ErrOneOfConflict) {
			return false
		}
	}
	return len(leaves) > 0
}

// successStatus is the operation's 2xx status.
func successStatus(t *testing.T, op specOp) int {
	t.Helper()
	for code := range op.op.Responses.Map() {
		var status int
		if _, err := fmt.Sscan(code, &status); err == nil && status >= 200 && status < 300 {
			return status
		}
	}
	t.Fatalf("%s has no success answer", op)
	return 0
}

// TestEveryOperation sends a valid request of every operation of the spec
// to a fresh demo: each gets the operation's success, valid against its
// schema.
func TestEveryOperation(t *testing.T) {
	t.Parallel()
	doc, ops := specOps(t)
	for _, op := range ops {
		t.Run(op.String(), func(t *testing.T) {
			t.Parallel()
			c := newCall(t, op).do(t, demo.NewHandler())
			if want := successStatus(t, op); c.status != want {
				t.Fatalf("%s %s %s: %d %s, want %d", op.method, c.url(), c.body, c.status, c.answer, want)
			}
			if err := c.validate(t, doc, true); err != nil {
				t.Errorf("%s %s %s: %v", op.method, c.url(), c.body, err)
			}
		})
	}
}

// problemDoc is the part of a problem the tests read.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Issues []struct {
		In   string `json:"in"`
		Name string `json:"name"`
	} `json:"issues"`
}

func (p problemDoc) names(in string) []string {
	var names []string
	for _, is := range p.Issues {
		if is.In == in {
			names = append(names, is.Name)
		}
	}
	return names
}

// checkProblem decodes a problem answer and checks it against the spec:
// against the operation's answer of its status, else against ApiProblem
// when the operation lists neither that status nor a default (the JWT key
// operations list no 404).
func checkProblem(t *testing.T, doc *openapi3.T, c *call) problemDoc {
	t.Helper()
	var p problemDoc
	if err := json.Unmarshal(c.answer, &p); err != nil {
		t.Fatalf("%s: the answer is not JSON: %v: %s", c.op, err, c.answer)
	}
	if p.Status != c.status || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: problem %s, status %d", c.op, c.answer, c.status)
	}
	if c.op.op.Responses.Status(c.status) == nil && c.op.op.Responses.Default() == nil {
		if ct := c.header.Get("Content-Type"); ct != "application/problem+json" && ct != "application/json" {
			t.Errorf("%s: Content-Type %q", c.op, ct)
		}
		var v any
		_ = json.Unmarshal(c.answer, &v)
		if err := doc.Components.Schemas["ApiProblem"].Value.VisitJSON(v); err != nil {
			t.Errorf("%s: not an ApiProblem: %v", c.op, err)
		}
		return p
	}
	if err := c.validate(t, doc, false); err != nil {
		t.Error(err)
	}
	return p
}

// TestUnknownIDs replaces each path parameter of every operation in turn
// with an ID the demo does not hold: each gets a 404 problem, valid
// against the spec, whose issues name that parameter.
func TestUnknownIDs(t *testing.T) {
	t.Parallel()
	doc, ops := specOps(t)
	h := demo.NewHandler()
	for _, op := range ops {
		for _, p := range op.op.Parameters {
			if p.Value.In != "path" {
				continue
			}
			name := p.Value.Name
			t.Run(op.String()+"/"+name, func(t *testing.T) {
				c := newCall(t, op)
				c.params[name] = "no-such-" + strings.ToLower(name)
				c.do(t, h)
				if c.status != http.StatusNotFound {
					t.Fatalf("%s %s: %d %s", op.method, c.url(), c.status, c.answer)
				}
				problem := checkProblem(t, doc, c)
				if !slices.Contains(problem.names("path"), name) {
					t.Errorf("issues %+v do not name %s", problem.Issues, name)
				}
			})
		}
	}
}

// TestMissingRequiredProperty sends every operation's body without each
// of its required properties in turn: each gets a 400 or 422 problem,
// valid against the spec, with an issue naming the property in the body.
func TestMissingRequiredProperty(t *testing.T) {
	t.Parallel()
	doc, ops := specOps(t)
	h := demo.NewHandler()
	checked := 0
	for _, op := range ops {
		if op.op.RequestBody == nil {
			continue
		}
		s := op.op.RequestBody.Value.Content.Get("application/json").Schema.Value
		required := slices.Clone(s.Required)
		for _, part := range s.AllOf {
			required = append(required, part.Value.Required...)
		}
		for _, name := range required {
			checked++
			t.Run(op.String()+"/"+name, func(t *testing.T) {
				c := newCall(t, op)
				var body map[string]any
				if err := json.Unmarshal(c.body, &body); err != nil {
					t.Fatal(err)
				}
				delete(body, name)
				c.body, _ = json.Marshal(body)
				c.do(t, h)
				if c.status != http.StatusBadRequest && c.status != http.StatusUnprocessableEntity {
					t.Fatalf("%s %s %s: %d %s", op.method, c.url(), c.body, c.status, c.answer)
				}
				problem := checkProblem(t, doc, c)
				if !slices.Equal(problem.names("body"), []string{name}) {
					t.Errorf("issues %+v, want one naming %s", problem.Issues, name)
				}
			})
		}
	}
	if checked < 40 {
		t.Errorf("only %d required properties checked", checked)
	}
}

// TestWritesThenReads follows writes with the reads that show them, each
// answer valid against the spec: a manifest's new integration, hydrated
// (its object is not in the metadata catalog); custom fields, then the
// object's metadata; an installation's new object, then its progress.
func TestWritesThenReads(t *testing.T) {
	t.Parallel()
	doc, ops := specOps(t)
	byID := map[string]specOp{}
	for _, op := range ops {
		byID[op.op.OperationID] = op
	}
	h := demo.NewHandler()
	send := func(id string, params map[string]string, query url.Values, body any) *call {
		t.Helper()
		c := newCall(t, byID[id])
		maps.Copy(c.params, params)
		for name, values := range query {
			c.query[name] = values
		}
		if body != nil {
			c.body, _ = json.Marshal(body)
		}
		c.do(t, h)
		if want := successStatus(t, c.op); c.status != want {
			t.Fatalf("%s %s: %d %s", c.op.method, c.url(), c.status, c.answer)
		}
		if err := c.validate(t, doc, true); err != nil {
			t.Error(err)
		}
		return c
	}

	send("batchUpsertIntegrations", nil, nil, nil)
	var integration struct {
		LatestRevision struct{ ID string } `json:"latestRevision"`
	}
	got := send("getIntegration", map[string]string{"integrationIdOrName": "read-leads"}, nil, nil)
	if err := json.Unmarshal(got.answer, &integration); err != nil || integration.LatestRevision.ID == "" {
		t.Fatalf("read-leads: %s", got.answer)
	}
	hydrated := send("getHydratedRevision", map[string]string{"integrationId": "read-leads", "revisionId": integration.LatestRevision.ID}, nil, nil)
	if !strings.Contains(string(hydrated.answer), `"displayName":"Lead"`) {
		t.Errorf("hydrated: %s", hydrated.answer)
	}

	send("upsertMetadataForConnection", map[string]string{"provider": "hubspot"}, nil, map[string]any{
		"groupRef": "group-123",
		"fields":   map[string]any{"contacts": []any{map[string]any{"fieldName": "tier", "displayName": "Tier", "valueType": "singleSelect", "stringOptions": map[string]any{"values": []any{"gold", "silver"}}}}},
	})
	meta := send("getObjectMetadataForConnection", map[string]string{"provider": "hubspot", "objectName": "contacts"}, nil, nil)
	if !strings.Contains(string(meta.answer), `"tier":{"fieldName":"tier","displayName":"Tier","valueType":"singleSelect"`) {
		t.Errorf("metadata after the upsert: %s", meta.answer)
	}
	again := send("upsertMetadataForConnection", map[string]string{"provider": "hubspot"}, nil, map[string]any{
		"groupRef": "group-123",
		"fields":   map[string]any{"contacts": []any{map[string]any{"fieldName": "tier", "displayName": "Tier", "valueType": "string"}}},
	})
	if !strings.Contains(string(again.answer), `"action":"update"`) {
		t.Errorf("second upsert: %s", again.answer)
	}

	send("updateInstallation", nil, nil, map[string]any{
		"updateMask":   []string{"config.content.read.objects.contact"},
		"installation": map[string]any{"config": map[string]any{"content": map[string]any{"read": map[string]any{"objects": map[string]any{"contact": map[string]any{"objectName": "contact"}}}}}},
	})
	progress := send("getBackfillProgress", map[string]string{"objectName": "contact"}, nil, nil)
	if !strings.Contains(string(progress.answer), `"recordsProcessed":0`) {
		t.Errorf("progress of a new object: %s", progress.answer)
	}
	send("listOperations", nil, url.Values{"pageSize": {"1"}}, nil)
}
