package main_test

// This file reads openapi/ampersand-api.json with kin-openapi, on its own
// (not through internal/apigen's model), for the tests that hold the schema
// and the binary to the spec: coverage_test.go and operations_test.go. It
// holds the mapping rules of the README's "The whole API" as the tests see
// them: what kind of proto type a schema is, how an object's properties are
// merged, how an enum value is named, what REST JSON a message's proto-JSON
// stands for, and a REST value with every property set.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// The spec the schema is generated from, and the generator's overrides
// (for the names of the schemas no operation reaches).
const (
	specFile      = "../../openapi/ampersand-api.json"
	overridesFile = "../../openapi/overrides.yaml"
)

// apiSpec is the spec as the tests read it.
type apiSpec struct {
	doc *openapi3.T
	// ops are every operation, sorted by operationId.
	ops []*specOp
	// names are the overrides' names: a component schema's name → its
	// message's or enum's.
	names map[string]string
}

// specOp is one operation of the spec.
type specOp struct {
	ID      string // "listInstallations"
	Verb    string // "GET"
	Path    string // "/projects/{projectIdOrName}/installations"
	Tags    []string
	Service string // "ampersand.v1.InstallationService"
	RPC     string // "ListInstallations"
	// Params are the path item's parameters and the operation's, the
	// operation's replacing the path item's of the same name and location.
	Params []*openapi3.Parameter
	// Body is the application/json request body's schema, or nil.
	Body *openapi3.SchemaRef
	// Status is the success status, the one 2xx the spec lists.
	Status int
	// Response is the application/json success body's schema, or nil.
	Response *openapi3.SchemaRef
	// Text reports a text/plain success body.
	Text bool
	// Errors are the schemas of the error responses, by status and media type.
	Errors map[string]*openapi3.SchemaRef
}

// param returns the operation's parameter named name in in, or nil.
func (op *specOp) param(in, name string) *openapi3.Parameter {
	for _, p := range op.Params {
		if p.In == in && p.Name == name {
			return p
		}
	}
	return nil
}

// pathParams returns the names of the path's parameters, in order.
func (op *specOp) pathParams() []string {
	var out []string
	rest := op.Path
	for {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest, '}')
		if i < 0 || j < i {
			return out
		}
		out = append(out, rest[i+1:j])
		rest = rest[j+1:]
	}
}

func (op *specOp) queryParams() []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, p := range op.Params {
		if p.In == "query" {
			out = append(out, p)
		}
	}
	return out
}

var (
	sharedSpecOnce sync.Once
	sharedSpecVal  *apiSpec
	sharedSpecErr  error
)

// sharedSpec is the spec, read once for the tests that do not change it.
func sharedSpec(t testing.TB) *apiSpec {
	t.Helper()
	sharedSpecOnce.Do(func() { sharedSpecVal, sharedSpecErr = readSpec() })
	if sharedSpecErr != nil {
		t.Fatal(sharedSpecErr)
	}
	return sharedSpecVal
}

// readSpec reads the spec afresh (a test may change what it returns).
func readSpec() (*apiSpec, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(specFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", specFile, err)
	}
	raw, err := os.ReadFile(overridesFile)
	if err != nil {
		return nil, err
	}
	var ov struct {
		Names map[string]string `yaml:"names"`
	}
	if err := yaml.Unmarshal(raw, &ov); err != nil {
		return nil, fmt.Errorf("read %s: %w", overridesFile, err)
	}
	sp := &apiSpec{doc: doc, names: ov.Names}
	if err := sp.index(); err != nil {
		return nil, err
	}
	return sp, nil
}

// index lists the operations of the document.
func (sp *apiSpec) index() error {
	sp.ops = nil
	for path, item := range sp.doc.Paths.Map() {
		for verb, op := range item.Operations() {
			o := &specOp{ID: op.OperationID, Verb: verb, Path: path, Tags: op.Tags, Errors: map[string]*openapi3.SchemaRef{}}
			if o.ID == "" {
				return fmt.Errorf("%s %s: no operationId", verb, path)
			}
			tag := "Default"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			o.Service = "ampersand.v1." + serviceName(tag)
			o.RPC = rpcName(o.ID)
			for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, ref := range list {
					p := ref.Value
					if i := slices.IndexFunc(o.Params, func(q *openapi3.Parameter) bool { return q.In == p.In && q.Name == p.Name }); i >= 0 {
						o.Params[i] = p
					} else {
						o.Params = append(o.Params, p)
					}
				}
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				media := rb.Value.Content.Get("application/json")
				if media == nil || media.Schema == nil {
					return fmt.Errorf("%s: a request body that is not application/json", o.ID)
				}
				o.Body = media.Schema
			}
			for status, ref := range op.Responses.Map() {
				resp := ref.Value
				if len(status) != 3 || status[0] != '2' {
					for mediaType, media := range resp.Content {
						if media.Schema != nil {
							o.Errors[status+" "+mediaType] = media.Schema
						}
					}
					continue
				}
				if o.Status != 0 {
					return fmt.Errorf("%s: two success responses", o.ID)
				}
				o.Status, _ = strconv.Atoi(status)
				switch {
				case len(resp.Content) == 0:
				case resp.Content.Get("application/json") != nil:
					o.Response = resp.Content.Get("application/json").Schema
				case resp.Content.Get("text/plain") != nil:
					o.Text = true
				default:
					return fmt.Errorf("%s: a success body that is neither JSON nor text", o.ID)
				}
			}
			if o.Status == 0 {
				return fmt.Errorf("%s: no success response", o.ID)
			}
			sp.ops = append(sp.ops, o)
		}
	}
	slices.SortFunc(sp.ops, func(a, b *specOp) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

// serviceName is the service of a tag: its words, each starting with a
// capital and otherwise unchanged, "&" read as "And", other punctuation
// and spaces dropped, then "Service".
func serviceName(tag string) string {
	var b strings.Builder
	for _, word := range strings.Fields(strings.ReplaceAll(tag, "&", " And ")) {
		word = strings.Map(func(r rune) rune {
			if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return r
			}
			return -1
		}, word)
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String() + "Service"
}

// rpcName is the RPC of an operation: its operationId with the first
// letter capitalised.
func rpcName(operationID string) string {
	r := []rune(operationID)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// upperSnake is an enum value's suffix: the REST value's words in upper
// case joined by "_": "oauth2/authorizationCode" → OAUTH2_AUTHORIZATION_CODE,
// "connection.created" → CONNECTION_CREATED, "bad_credentials" →
// BAD_CREDENTIALS, "JWTKey" → JWT_KEY.
func upperSnake(s string) string {
	var words []string
	var word []rune
	runes := []rune(s)
	isUpper := func(r rune) bool { return r >= 'A' && r <= 'Z' }
	isLower := func(r rune) bool { return r >= 'a' && r <= 'z' }
	isDigit := func(r rune) bool { return r >= '0' && r <= '9' }
	flush := func() {
		if len(word) > 0 {
			words = append(words, strings.ToUpper(string(word)))
			word = nil
		}
	}
	for i, r := range runes {
		if !isUpper(r) && !isLower(r) && !isDigit(r) {
			flush()
			continue
		}
		if len(word) > 0 && isUpper(r) {
			prev := runes[i-1]
			if isLower(prev) || isDigit(prev) ||
				len(word) >= 2 && isUpper(prev) && isUpper(runes[i-2]) && i+1 < len(runes) && isLower(runes[i+1]) {
				flush()
			}
		}
		word = append(word, r)
	}
	flush()
	return strings.Join(words, "_")
}

// schemaKind is what a schema maps to.
type schemaKind int

const (
	kindObject schemaKind = iota // a message
	kindMap                      // map<string, T>
	kindStruct                   // google.protobuf.Struct
	kindList                     // repeated T
	kindEnum                     // a proto enum
	kindScalar                   // string, integer, number, boolean, date-time
	kindAny                      // google.protobuf.Value
)

// kindOf classifies a schema: an object with properties (or allOf or
// oneOf parts) is a message; one with only additionalProperties of a
// schema is a map; a free-form object, or one that lists properties and
// allows any other, is a Struct; a schema with no type is any value.
func kindOf(s *openapi3.Schema) schemaKind {
	hasAdditional := s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has
	switch {
	case len(s.OneOf) > 0 || len(s.AllOf) > 0:
		return kindObject
	case s.Type.Is("array"):
		return kindList
	case s.Type.Is("string") && len(s.Enum) > 0:
		return kindEnum
	case s.Type.Is("string"), s.Type.Is("integer"), s.Type.Is("number"), s.Type.Is("boolean"):
		return kindScalar
	case len(s.Properties) == 0 && s.AdditionalProperties.Schema != nil:
		return kindMap
	case s.Type.Is("object") && len(s.Properties) == 0, hasAdditional:
		return kindStruct
	case len(s.Properties) > 0:
		return kindObject
	}
	return kindAny
}

// objectSchema is an object schema with its allOf parts merged in.
type objectSchema struct {
	props    map[string]*openapi3.SchemaRef
	required map[string]bool
	// oneOfs are the oneOf lists of the parts and of the schema itself.
	oneOfs []openapi3.SchemaRefs
}

// objectOf merges an object schema's allOf parts, in order, then its own
// properties: a property named again replaces the earlier one.
func objectOf(s *openapi3.Schema) *objectSchema {
	o := &objectSchema{props: map[string]*openapi3.SchemaRef{}, required: map[string]bool{}}
	o.merge(s)
	return o
}

func (o *objectSchema) merge(s *openapi3.Schema) {
	for _, part := range s.AllOf {
		o.merge(part.Value)
	}
	for name, p := range s.Properties {
		o.props[name] = p
	}
	for _, r := range s.Required {
		o.required[r] = true
	}
	if len(s.OneOf) > 0 {
		o.oneOfs = append(o.oneOfs, s.OneOf)
	}
}

// names returns the merged properties' names, sorted.
func (o *objectSchema) names() []string {
	out := make([]string, 0, len(o.props))
	for name := range o.props {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// singleProperty returns the property of a oneOf variant that is an
// inline object with exactly one property: such a variant is that
// property, named as the REST JSON names it (a tagged variant).
func singleProperty(v *openapi3.SchemaRef) (string, *openapi3.SchemaRef, bool) {
	s := v.Value
	if v.Ref != "" || len(s.AllOf) > 0 || len(s.OneOf) > 0 || len(s.Properties) != 1 || kindOf(s) != kindObject {
		return "", nil, false
	}
	for name, p := range s.Properties {
		return name, p, true
	}
	return "", nil, false
}

// tagged reports whether a oneOf's variants are each one property.
func tagged(variants openapi3.SchemaRefs) bool {
	for _, v := range variants {
		if _, _, ok := singleProperty(v); !ok {
			return false
		}
	}
	return true
}

// stringEnum returns a string enum's REST values.
func stringEnum(s *openapi3.Schema) []string {
	var out []string
	for _, v := range s.Enum {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// restEnumValue is the REST value, among the spec's values of s, of the
// proto enum value named name: the one whose UPPER_SNAKE_CASE ends the
// name (the longest, should several).
func restEnumValue(s *openapi3.Schema, name string) (string, bool) {
	best, found := "", false
	for _, v := range stringEnum(s) {
		if suffix := "_" + upperSnake(v); strings.HasSuffix(name, suffix) && (!found || len(suffix) > len(upperSnake(best))+1) {
			best, found = v, true
		}
	}
	return best, found
}

// restValue turns v, a value of a message's proto-JSON (decoded with
// UseNumber), into the REST JSON the spec's schema s says it stands for:
// enum names become their REST values, int64 strings numbers, an untagged
// variant's object is merged into its enclosing object, and a list or map
// held in a list or map comes out of its wrapper's "values". It fails on
// what the schema has no place for.
func restValue(path string, s *openapi3.SchemaRef, v any) (any, error) {
	schema := s.Value
	switch kindOf(schema) {
	case kindList:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: %T, want a list", path, v)
		}
		out := make([]any, len(list))
		for i, item := range list {
			var err error
			if out[i], err = restElement(fmt.Sprintf("%s[%d]", path, i), schema.Items, item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %T, want a map", path, v)
		}
		out := make(map[string]any, len(m))
		for k, item := range m {
			var err error
			if out[k], err = restElement(path+"["+strconv.Quote(k)+"]", schema.AdditionalProperties.Schema, item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case kindStruct, kindAny:
		return v, nil
	case kindEnum:
		name, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: %T, want an enum value's name", path, v)
		}
		rest, ok := restEnumValue(schema, name)
		if !ok {
			return nil, fmt.Errorf("%s: %s is none of the values %q", path, name, stringEnum(schema))
		}
		return rest, nil
	case kindScalar:
		switch {
		case schema.Type.Is("integer") || schema.Type.Is("number"):
			switch n := v.(type) {
			case json.Number:
				return n, nil
			case string: // proto-JSON writes 64-bit integers as strings
				if _, err := strconv.ParseInt(n, 10, 64); err != nil {
					return nil, fmt.Errorf("%s: %q, want a number", path, n)
				}
				return json.Number(n), nil
			}
			return nil, fmt.Errorf("%s: %T, want a number", path, v)
		case schema.Type.Is("boolean"):
			if _, ok := v.(bool); !ok {
				return nil, fmt.Errorf("%s: %T, want a boolean", path, v)
			}
		default:
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("%s: %T, want a string", path, v)
			}
		}
		return v, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: %T, want an object", path, v)
	}
	return restObject(path, objectOf(schema), m)
}

// restElement is restValue for a list's element or a map's value: a list
// or a map there is held in a wrapper's "values".
func restElement(path string, s *openapi3.SchemaRef, v any) (any, error) {
	if k := kindOf(s.Value); k == kindList || k == kindMap {
		w, ok := v.(map[string]any)
		if !ok || len(w) > 1 {
			return nil, fmt.Errorf("%s: %v, want a wrapper {\"values\": ...}", path, v)
		}
		inner, ok := w["values"]
		if !ok {
			if k == kindList {
				return []any{}, nil
			}
			return map[string]any{}, nil
		}
		return restValue(path, s, inner)
	}
	return restValue(path, s, v)
}

// restObject is restValue for an object: each member is a property, a
// oneOf's tagged variant's property, or an untagged variant whose
// properties are merged in; the variant is the first, in the spec's order,
// whose properties hold all of the member's and whose required ones are
// all there.
func restObject(path string, o *objectSchema, m map[string]any) (map[string]any, error) {
	out := map[string]any{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if p, ok := o.props[k]; ok {
			v, err := restValue(path+"."+k, p, m[k])
			if err != nil {
				return nil, err
			}
			out[k] = v
			continue
		}
		done := false
		for _, variants := range o.oneOfs {
			if !tagged(variants) {
				continue
			}
			for _, variant := range variants {
				if name, p, _ := singleProperty(variant); name == k {
					v, err := restValue(path+"."+k, p, m[k])
					if err != nil {
						return nil, err
					}
					out[k], done = v, true
				}
			}
		}
		if done {
			continue
		}
		inner, ok := m[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %s is neither a property nor a variant", path, k)
		}
		merged := variantObject(path+"<"+k+">", o, inner)
		if merged == nil {
			return nil, fmt.Errorf("%s: %s is neither a property nor a variant's object", path, k)
		}
		for name, v := range merged {
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("%s: %s set twice", path, name)
			}
			out[name] = v
		}
	}
	return out, nil
}

// variantObject is restObject of m, an untagged variant's object, by the
// first untagged variant of o whose properties hold every member of m,
// with all of its required ones present, and whose schemas take the
// values; nil when none does.
func variantObject(path string, o *objectSchema, m map[string]any) map[string]any {
	for _, variants := range o.oneOfs {
		if tagged(variants) {
			continue
		}
		for _, variant := range variants {
			vo := objectOf(variant.Value)
			fits := true
			for r := range vo.required {
				_, present := m[r]
				fits = fits && present
			}
			if !fits {
				continue
			}
			if out, err := restObject(path, vo, m); err == nil {
				return out
			}
		}
	}
	return nil
}

// sampleTime is the date-time of every sample: nine digits of fraction, so
// that RFC 3339 and proto-JSON spell it alike.
const sampleTime = "2024-05-06T07:08:09.123456789Z"

// sampler makes REST values with every property set, from schemas:
// example values where the spec gives them, values of the right type and
// format otherwise, the first value of each enum, the first variant of
// each oneOf, one element in each list and map.
type sampler struct {
	// alt makes the other values: every boolean false, every number 0
	// (or within its bounds), examples or not, the last value of each enum
	// and the last variant of each oneOf.
	alt   bool
	stack []*openapi3.Schema // the objects being made, to stop recursion
}

func (sm *sampler) value(s *openapi3.SchemaRef) any {
	schema := s.Value
	switch kindOf(schema) {
	case kindList:
		return []any{sm.value(schema.Items)}
	case kindMap:
		return map[string]any{"key-é 1": sm.value(schema.AdditionalProperties.Schema)}
	case kindStruct:
		out := map[string]any{"extra": map[string]any{"n": 1.5, "list": []any{"x", true}}}
		for name, p := range schema.Properties {
			out[name] = sm.value(p)
		}
		return out
	case kindAny:
		return map[string]any{"any": []any{"x", 2.0}}
	case kindEnum:
		values := stringEnum(schema)
		if sm.alt {
			return values[len(values)-1]
		}
		if ex, ok := schema.Example.(string); ok && slices.Contains(values, ex) {
			return ex
		}
		return values[0]
	case kindScalar:
		return scalarSample(schema, sm.alt)
	}
	if slices.Contains(sm.stack, schema) {
		return map[string]any{} // a recursive schema: stop (none in today's spec)
	}
	sm.stack = append(sm.stack, schema)
	defer func() { sm.stack = sm.stack[:len(sm.stack)-1] }()
	o := objectOf(schema)
	out := map[string]any{}
	for _, name := range o.names() {
		out[name] = sm.value(o.props[name])
	}
	for _, variants := range o.oneOfs {
		variant := variants[0]
		if sm.alt {
			variant = variants[len(variants)-1]
		}
		vo := objectOf(variant.Value)
		for _, name := range vo.names() {
			out[name] = sm.value(vo.props[name])
		}
	}
	return out
}

// bounded returns a number within a schema's minimum and maximum, when it
// has either.
func bounded(s *openapi3.Schema) (float64, bool) {
	switch {
	case s.Min != nil && s.Max != nil:
		return (*s.Min + *s.Max) / 2, true
	case s.Min != nil:
		return *s.Min + 1, true
	case s.Max != nil:
		return *s.Max - 1, true
	}
	return 0, false
}

func scalarSample(s *openapi3.Schema, alt bool) any {
	if alt && !s.Type.Is("string") {
		if bound, ok := bounded(s); ok {
			return json.Number(strconv.FormatFloat(math.Ceil(bound), 'f', -1, 64))
		}
		if s.Type.Is("boolean") {
			return false
		}
		return json.Number("0")
	}
	switch {
	case s.Type.Is("string") && s.Format == "date-time":
		return sampleTime
	case s.Type.Is("string"):
		if ex, ok := s.Example.(string); ok && ex != "" {
			return ex
		}
		return "text-é/?#% \"quoted\""
	case s.Type.Is("integer"):
		if ex, ok := s.Example.(float64); ok && ex == float64(int32(ex)) {
			return json.Number(strconv.FormatFloat(ex, 'f', -1, 64))
		}
		if bound, ok := bounded(s); ok {
			return json.Number(strconv.FormatFloat(math.Ceil(bound), 'f', -1, 64))
		}
		if s.Format == "int64" {
			return json.Number("1099511627776")
		}
		return json.Number("-7")
	case s.Type.Is("number"):
		if ex, ok := s.Example.(float64); ok {
			return json.Number(strconv.FormatFloat(ex, 'g', -1, 64))
		}
		if bound, ok := bounded(s); ok {
			return json.Number(strconv.FormatFloat(bound, 'g', -1, 64))
		}
		return json.Number("2.5")
	}
	return true
}

// validateSample checks a REST value (numbers as float64) against its
// schema, formats included. A value that fits several variants of a oneOf
// is valid when it fits the first: the README's rule picks the first
// variant that fits, and the spec's variants overlap
// (IntegrationFieldExistent lists mapToName, which IntegrationFieldMapping
// requires, so an existent with every property set fits both).
func validateSample(s *openapi3.Schema, v any) []error {
	err := s.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.EnableFormatValidation())
	var out []error
	var walk func(err error)
	walk = func(err error) {
		var multi openapi3.MultiError
		var schemaErr *openapi3.SchemaError
		switch {
		case err == nil:
		case errors.As(err, &multi):
			for _, e := range multi {
				walk(e)
			}
		case errors.As(err, &schemaErr) && schemaErr.SchemaField == "oneOf" && strings.Contains(schemaErr.Reason, "at indices [0 "):
		default:
			out = append(out, err)
		}
	}
	walk(err)
	return out
}
