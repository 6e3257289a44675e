package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// schema is an OpenAPI 3.0 schema object, as much of it as the demo needs to
// check a request, fill in a resource and write an answer. After
// [spec.prepare], $ref is resolved and allOf is merged into props.
type schema struct {
	Ref                  string          `json:"$ref"`
	Type                 string          `json:"type"`
	Format               string          `json:"format"`
	Properties           properties      `json:"properties"`
	Required             []string        `json:"required"`
	Items                *schema         `json:"items"`
	AdditionalProperties *additional     `json:"additionalProperties"`
	AllOf                []*schema       `json:"allOf"`
	OneOf                []*schema       `json:"oneOf"`
	AnyOf                []*schema       `json:"anyOf"`
	Enum                 []any           `json:"enum"`
	Example              json.RawMessage `json:"example"`
	Default              json.RawMessage `json:"default"`
	Nullable             bool            `json:"nullable"`
	MinItems             int             `json:"minItems"`
	MinLength            int             `json:"minLength"`
	MaxLength            *int            `json:"maxLength"`
	Minimum              *float64        `json:"minimum"`
	Maximum              *float64        `json:"maximum"`
	ExclusiveMaximum     bool            `json:"exclusiveMaximum"`
	Pattern              string          `json:"pattern"`

	target   *schema             // what Ref names
	prepared bool                // prepare has run
	object   bool                // an object: type object, properties or allOf
	props    map[string]*schema  // the properties, allOf parts' included
	order    []string            // props' names, in the spec's order
	required []string            // the required properties, allOf parts' included
	extra    *schema             // the schema of other properties; nil when there are none
	closed   bool                // properties are listed and others are not allowed
	pattern  *regexp.Regexp      // Pattern, compiled
	example  any                 // Example, decoded; nil when absent
	def      any                 // Default, decoded; nil when absent
	enum     map[string]struct{} // Enum's strings
}

// properties are a schema's properties in the order the spec lists them.
type properties []property

type property struct {
	name   string
	schema *schema
}

func (p *properties) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("properties: want an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var s schema
		if err := dec.Decode(&s); err != nil {
			return err
		}
		*p = append(*p, property{name: t.(string), schema: &s})
	}
	return nil
}

// additional is additionalProperties: true, false or a schema.
type additional struct {
	allowed bool
	schema  *schema
}

func (a *additional) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true":
		a.allowed = true
		return nil
	case "false":
		return nil
	}
	a.allowed = true
	a.schema = new(schema)
	return json.Unmarshal(data, a.schema)
}

// anything is the schema of a value of any type.
var anything = &schema{prepared: true}

// deref follows $ref.
func (s *schema) deref() *schema {
	for s != nil && s.target != nil {
		s = s.target
	}
	return s
}

// prepare resolves the references of s and of every schema inside it, and
// computes the merged view of objects. It runs once, when the spec is read.
func (s *schema) prepare(components map[string]*schema) error {
	if s == nil || s.prepared {
		return nil
	}
	s.prepared = true
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if s.target = components[name]; !ok || s.target == nil {
			return fmt.Errorf("unresolved $ref %q", s.Ref)
		}
		return s.target.prepare(components)
	}
	var err error
	decode := func(raw json.RawMessage) any {
		if len(raw) == 0 {
			return nil
		}
		v, e := decodeJSON(raw)
		if e != nil {
			err = e
		}
		return v
	}
	s.example, s.def = decode(s.Example), decode(s.Default)
	if err != nil {
		return err
	}
	if s.Pattern != "" {
		if s.pattern, err = regexp.Compile(s.Pattern); err != nil {
			return err
		}
	}
	if len(s.Enum) > 0 {
		s.enum = map[string]struct{}{}
		for _, v := range s.Enum {
			s.enum[fmt.Sprint(v)] = struct{}{}
		}
	}
	for _, p := range s.Properties {
		if err := p.schema.prepare(components); err != nil {
			return err
		}
	}
	for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf, []*schema{s.Items}) {
		if err := sub.prepare(components); err != nil {
			return err
		}
	}
	if s.AdditionalProperties != nil {
		if err := s.AdditionalProperties.schema.prepare(components); err != nil {
			return err
		}
	}

	s.object = s.Type == "object" || len(s.Properties) > 0 || len(s.AllOf) > 0 || s.AdditionalProperties != nil
	if !s.object {
		return nil
	}
	s.props = map[string]*schema{}
	add := func(name string, p *schema) {
		if _, ok := s.props[name]; !ok {
			s.order = append(s.order, name)
		}
		s.props[name] = p
	}
	for _, part := range s.AllOf {
		part = part.deref()
		for _, name := range part.order {
			add(name, part.props[name])
		}
		s.required = append(s.required, part.required...)
		if part.extra != nil && s.extra == nil {
			s.extra = part.extra
		}
	}
	for _, p := range s.Properties {
		add(p.name, p.schema)
	}
	s.required = append(s.required, s.Required...)
	switch a := s.AdditionalProperties; {
	case a != nil && a.schema != nil:
		s.extra = a.schema
	case a != nil && a.allowed, len(s.props) == 0 && a == nil:
		s.extra = anything
	}
	s.closed = s.extra == nil
	return nil
}

// decodeJSON decodes a JSON document, keeping numbers as [json.Number].
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// issue is one problem with a value: an InputValidationIssue without its in.
type issue struct {
	name   string // the path to the value: config.content.read, fields[0]
	detail string
	value  any
}

// check returns what is wrong with v as a value of s, at most a few dozen
// issues. A oneOf is satisfied by any of its variants (the first that fits
// is the one that counts, as the service reads them).
func check(v any, s *schema, at string) []issue {
	var issues []issue
	checkInto(&issues, v, s, at)
	return issues
}

const maxIssues = 32

func checkInto(issues *[]issue, v any, s *schema, at string) {
	s = s.deref()
	if s == nil || len(*issues) >= maxIssues {
		return
	}
	bad := func(format string, args ...any) {
		*issues = append(*issues, issue{name: at, detail: fmt.Sprintf(format, args...), value: v})
	}
	if v == nil {
		if s.Type != "" && !s.Nullable {
			bad("must not be null")
		}
		return
	}
	for _, part := range s.AllOf {
		checkInto(issues, v, part, at)
	}
	if variants := slices.Concat(s.OneOf, s.AnyOf); len(variants) > 0 {
		if variant(v, variants) == nil {
			bad("matches none of the %d forms it may take", len(variants))
			return
		}
	}
	if s.enum != nil {
		if _, ok := s.enum[fmt.Sprint(v)]; !ok {
			bad("must be one of %s", quoteAll(s.Enum))
			return
		}
	}
	switch s.Type {
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("must be a string")
			return
		}
		n := len([]rune(str))
		switch {
		case n < s.MinLength:
			bad("must be at least %d characters long", s.MinLength)
		case s.MaxLength != nil && n > *s.MaxLength:
			bad("must be at most %d characters long", *s.MaxLength)
		case s.pattern != nil && !s.pattern.MatchString(str):
			bad("must match %s", s.Pattern)
		case s.Format == "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("must be an RFC 3339 date and time")
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			bad("must be a number")
			return
		}
		f, err := n.Float64()
		if s.Type == "integer" {
			_, err = strconv.ParseInt(n.String(), 10, 64)
		}
		switch {
		case err != nil:
			bad("must be an integer")
		case s.Minimum != nil && f < *s.Minimum:
			bad("must be at least %v", *s.Minimum)
		case s.Maximum != nil && (f > *s.Maximum || s.ExclusiveMaximum && f == *s.Maximum):
			bad("must be below %v", *s.Maximum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("must be true or false")
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			bad("must be an array")
			return
		}
		if len(items) < s.MinItems {
			bad("must have at least %d items", s.MinItems)
		}
		for i, item := range items {
			checkInto(issues, item, s.Items, fmt.Sprintf("%s[%d]", at, i))
		}
	}
	if !s.object || len(s.AllOf) > 0 && len(s.Properties) == 0 && len(s.Required) == 0 && s.AdditionalProperties == nil {
		return // nothing more than the parts say
	}
	obj, ok := v.(map[string]any)
	if !ok {
		bad("must be an object")
		return
	}
	for _, name := range s.Required {
		if _, ok := obj[name]; !ok {
			*issues = append(*issues, issue{name: join(at, name), detail: "is required"})
		}
	}
	for _, name := range sortedKeys(obj) {
		p := s.propertyOwn(name)
		if p == nil {
			continue
		}
		checkInto(issues, obj[name], p, join(at, name))
	}
}

// propertyOwn is the schema of s's property name as s itself declares it
// (its allOf parts check theirs), or of its additional properties.
func (s *schema) propertyOwn(name string) *schema {
	for _, p := range s.Properties {
		if p.name == name {
			return p.schema
		}
	}
	if a := s.AdditionalProperties; a != nil {
		if a.schema != nil {
			return a.schema
		}
		return nil
	}
	return nil
}

// variant returns the first of variants that v fits, or nil.
func variant(v any, variants []*schema) *schema {
	for _, alt := range variants {
		if len(check(v, alt, "")) == 0 {
			return alt.deref()
		}
	}
	return nil
}

// property returns the schema of s's property name: declared, or one of
// its other properties; nil when s has no such property.
func (s *schema) property(name string) *schema {
	s = s.deref()
	if s == nil {
		return nil
	}
	if p, ok := s.props[name]; ok {
		return p
	}
	if len(s.OneOf) > 0 {
		for _, alt := range s.OneOf {
			if p := alt.property(name); p != nil {
				return p
			}
		}
	}
	return s.extra
}

// isRequired reports whether s requires its property name.
func (s *schema) isRequired(name string) bool {
	return slices.Contains(s.deref().required, name)
}

// synth makes up a value of s: its example or default when they fit,
// else the first enum value, else a plain value of its type. Objects get
// their required properties. name is the property's name, for strings.
func synth(s *schema, name string) any {
	s = s.deref()
	if s == nil {
		return "demo"
	}
	for _, v := range []any{s.example, s.def} {
		if v != nil && len(check(v, s, "")) == 0 {
			return clone(v)
		}
	}
	if len(s.Enum) > 0 {
		return clone(s.Enum[0])
	}
	if len(s.OneOf) > 0 {
		return synth(s.OneOf[0], name)
	}
	if s.object {
		obj := map[string]any{}
		complete(obj, s)
		return obj
	}
	switch s.Type {
	case "string":
		switch s.Format {
		case "date-time":
			return seedTime
		case "uuid":
			return "00000000-0000-4000-8000-000000000000"
		case "email":
			return "ada@example.com"
		case "uri":
			return "https://example.com/"
		}
		if name == "" {
			return "demo"
		}
		return "demo-" + name
	case "integer", "number":
		if s.Minimum != nil {
			return json.Number(strconv.FormatFloat(*s.Minimum, 'f', -1, 64))
		}
		return json.Number("0")
	case "boolean":
		return false
	case "array":
		if s.MinItems > 0 {
			return []any{synth(s.Items, name)}
		}
		return []any{}
	}
	return "demo"
}

// complete fills in, in place, what v lacks to be a valid value of s: every
// required property missing from an object, at every depth.
func complete(v any, s *schema) {
	s = s.deref()
	if s == nil {
		return
	}
	if len(s.OneOf) > 0 {
		if alt := variant(v, s.OneOf); alt != nil {
			complete(v, alt)
		}
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if !s.object {
			return
		}
		for _, name := range s.required {
			if _, ok := v[name]; !ok {
				v[name] = synth(s.props[name], name)
			}
		}
		for name, sub := range v {
			if p := s.property(name); p != nil {
				complete(sub, p)
			}
		}
	case []any:
		if s.Type == "array" {
			for _, item := range v {
				complete(item, s.Items)
			}
		}
	}
}

// encode writes v as JSON shaped by s: the properties s lists, in the
// spec's order, then any others s allows, sorted; properties s does not
// allow are left out, so what a resource keeps for itself (a secret, a
// log) never leaks into an answer that does not list it.
func encode(buf *bytes.Buffer, v any, s *schema) {
	s = s.deref()
	if s != nil && len(s.OneOf) > 0 {
		if alt := variant(v, s.OneOf); alt != nil {
			s = alt
		}
	}
	switch v := v.(type) {
	case map[string]any:
		buf.WriteByte('{')
		n := 0
		field := func(name string, sub *schema) {
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			writeJSON(buf, name)
			buf.WriteByte(':')
			encode(buf, v[name], sub)
		}
		if s != nil && s.object {
			for _, name := range s.order {
				if _, ok := v[name]; ok {
					field(name, s.props[name])
				}
			}
		}
		if s == nil || !s.object || !s.closed {
			for _, name := range sortedKeys(v) {
				if s == nil || s.props[name] == nil {
					extra := anything
					if s != nil && s.extra != nil {
						extra = s.extra
					}
					field(name, extra)
				}
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		var items *schema
		if s != nil {
			items = s.Items
		}
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			encode(buf, item, items)
		}
		buf.WriteByte(']')
	default:
		writeJSON(buf, v)
	}
}

func writeJSON(buf *bytes.Buffer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // values come from decoded JSON
	}
	buf.Write(b)
}

// clone deep-copies a decoded JSON value.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = clone(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = clone(e)
		}
		return c
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// quoteAll lists values for a message: "a", "b" or "c".
func quoteAll(values []any) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(fmt.Sprint(v))
	}
	return listed(quoted, "or")
}

// listed joins words for a message: a, b and c.
func listed(words []string, and string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + and + " " + words[len(words)-1]
}
