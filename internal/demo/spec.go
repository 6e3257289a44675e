package demo

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ampersand-connect/gateway/openapi"
)

// api is what the demo reads from openapi/ampersand-api.json: every
// operation, with its parameters, body and answers, and the schemas.
type api struct {
	ops     []*operation
	schemas map[string]*schema // the components, by name
	// unserved lists the operations the demo has no handler for: they
	// answer 501 (the package's tests keep this empty).
	unserved []string
}

// operation is one operation of the spec.
type operation struct {
	id, method, path string
	segs             []segment
	params           []*parameter // path and query parameters, in the spec's order
	body             *schema      // the JSON request body; nil when there is none
	bodyRequired     bool
	status           int               // the success status
	mediaType        string            // the success body's media type; "" when it has none
	result           *schema           // the success body's schema
	errors           map[string]string // the media type of each error answer, by status ("default" too)
	pathKinds        []*kind           // the kind each path segment's parameter names, or nil
	serve            handler
}

// segment is one segment of an operation's path: a literal, or a parameter
// followed by a literal suffix (revisions/{revisionId}:hydrate).
type segment struct {
	literal string // the literal, or the suffix after the parameter
	param   string // the parameter's name; "" for a literal
}

type parameter struct {
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required"`
	Schema   *schema `json:"schema"`
}

type mediaTypes map[string]struct {
	Schema *schema `json:"schema"`
}

type rawOperation struct {
	OperationID string       `json:"operationId"`
	Parameters  []*parameter `json:"parameters"`
	RequestBody *struct {
		Required bool       `json:"required"`
		Content  mediaTypes `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content mediaTypes `json:"content"`
	} `json:"responses"`
}

// loadAPI reads the spec once; the demo's handlers share what it read,
// which nothing changes after.
var loadAPI = sync.OnceValues(func() (*api, error) {
	a, err := readAPI([]byte(openapi.Spec))
	if err != nil {
		return nil, err
	}
	a.unserved = bind(a, kinds, actions)
	return a, nil
})

// readAPI reads an OpenAPI 3.0 document in JSON.
func readAPI(data []byte) (*api, error) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]*schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	a := &api{schemas: doc.Components.Schemas}
	for _, name := range slices.Sorted(maps.Keys(a.schemas)) {
		if err := a.schemas[name].prepare(a.schemas); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
		item := doc.Paths[path]
		var shared []*parameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		for _, method := range []string{"get", "put", "post", "delete", "patch"} {
			raw, ok := item[method]
			if !ok {
				continue
			}
			op, err := a.readOperation(strings.ToUpper(method), path, raw, shared)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			a.ops = append(a.ops, op)
		}
	}
	return a, nil
}

func (a *api) readOperation(method, path string, data json.RawMessage, shared []*parameter) (*operation, error) {
	var raw rawOperation
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	op := &operation{id: raw.OperationID, method: method, path: path, errors: map[string]string{}}
	for _, p := range slices.Concat(shared, raw.Parameters) {
		if err := p.Schema.prepare(a.schemas); err != nil {
			return nil, err
		}
		op.params = append(op.params, p)
	}
	for _, part := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		seg := segment{literal: part}
		if strings.HasPrefix(part, "{") {
			end := strings.Index(part, "}")
			seg = segment{param: part[1:end], literal: part[end+1:]}
		}
		op.segs = append(op.segs, seg)
	}
	if rb := raw.RequestBody; rb != nil {
		mt, ok := rb.Content["application/json"]
		if !ok {
			return nil, fmt.Errorf("a request body that is not JSON")
		}
		op.body, op.bodyRequired = mt.Schema, rb.Required
		if err := op.body.prepare(a.schemas); err != nil {
			return nil, err
		}
	}
	for _, code := range slices.Sorted(maps.Keys(raw.Responses)) {
		resp := raw.Responses[code]
		status, _ := strconv.Atoi(code)
		var mediaType string
		for _, t := range slices.Sorted(maps.Keys(resp.Content)) {
			mediaType = t
		}
		if status >= 200 && status < 300 {
			if op.status != 0 {
				return nil, fmt.Errorf("more than one success answer")
			}
			op.status, op.mediaType = status, mediaType
			if mediaType != "" {
				op.result = resp.Content[mediaType].Schema
				if err := op.result.prepare(a.schemas); err != nil {
					return nil, err
				}
			}
			continue
		}
		op.errors[code] = mediaType
	}
	if op.status == 0 {
		return nil, fmt.Errorf("no success answer")
	}
	return op, nil
}

// errorType returns the media type the spec gives an error answer of
// status: its own, else the default answer's, else that of the
// operation's other errors (the JWT key operations answer
// application/json), else application/problem+json.
func (op *operation) errorType(status int) string {
	if t, ok := op.errors[strconv.Itoa(status)]; ok && t != "" {
		return t
	}
	if t := op.errors["default"]; t != "" {
		return t
	}
	for _, code := range slices.Sorted(maps.Keys(op.errors)) {
		if t := op.errors[code]; t != "" {
			return t
		}
	}
	return "application/problem+json"
}

// declares reports whether the operation lists an error answer of status.
func (op *operation) declares(status int) bool {
	_, ok := op.errors[strconv.Itoa(status)]
	return ok
}

// match returns the unescaped path parameters of an escaped path (split
// at its slashes) when it is one of the operation's, and how many literal
// bytes matched, to prefer the more literal of two matches.
func (op *operation) match(parts []string) (values []string, score int, ok bool) {
	if len(parts) != len(op.segs) {
		return nil, 0, false
	}
	for i, seg := range op.segs {
		part := parts[i]
		if seg.param == "" {
			if part != seg.literal {
				return nil, 0, false
			}
			score += len(part) + 1
			continue
		}
		raw, found := strings.CutSuffix(part, seg.literal)
		if !found || raw == "" {
			return nil, 0, false
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, 0, false
		}
		values = append(values, v)
		score += len(seg.literal)
	}
	return values, score, true
}

// route finds the operation for a method and an escaped path relative to
// the API's base (/projects/p). When the path is an operation's but the
// method is not, it returns the methods the path allows.
func (a *api) route(method, escapedPath string) (op *operation, values []string, allow []string) {
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	best := -1
	for _, candidate := range a.ops {
		v, score, ok := candidate.match(parts)
		switch {
		case !ok:
		case candidate.method != method:
			allow = append(allow, candidate.method)
		case score > best:
			best, op, values = score, candidate, v
		}
	}
	if op != nil {
		return op, values, nil
	}
	slices.Sort(allow)
	return nil, nil, slices.Compact(allow)
}
