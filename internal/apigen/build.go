package apigen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The files the generator writes, under the proto package's folder.
const (
	problemFile    = "problem"    // the schemas of error responses
	componentsFile = "components" // the schemas no operation reaches
	optionsFile    = "options"    // the REST binding's own options
)

// Build reads an OpenAPI 3.0 document (JSON or YAML) into the proto surface
// it maps to, by the rules of README.md's "The whole API" section: one
// service per tag, one RPC per operation, one message per object schema, one
// enum per string enum. Names the rules cannot derive come from ov; field
// and value numbers from lock, which Build extends with the numbers it
// gives to new fields and values (the caller writes it back).
func Build(spec []byte, ov *Overrides, lock *Lock) (*API, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("validate spec: %w", err)
	}
	order, err := newKeyOrder(spec)
	if err != nil {
		return nil, err
	}
	if ov == nil {
		ov = &Overrides{}
	}
	b := &builder{
		doc:        doc,
		order:      order,
		ov:         ov,
		used:       map[string]bool{},
		api:        &API{Package: "ampersand.v1"},
		components: map[string]*shape{},
		messages:   map[string]*Message{},
		enums:      map[string]*Enum{},
		services:   map[string]*Service{},
	}
	b.indexSchemas()
	b.build()
	if err := b.err(); err != nil {
		return nil, err
	}
	if err := number(b.api, lock); err != nil {
		return nil, err
	}
	if err := placeFiles(b.api, lock); err != nil {
		return nil, err
	}
	return b.api, nil
}

type builder struct {
	doc        *openapi3.T
	order      keyOrder
	ov         *Overrides
	used       map[string]bool // the overrides used, to report those left over
	api        *API
	components map[string]*shape // by component name
	messages   map[string]*Message
	enums      map[string]*Enum
	services   map[string]*Service
	pointers   map[*openapi3.Schema]string // where each inline schema is
	file       string                      // the file new schema types go to
	errs       []error
}

func (b *builder) errorf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

func (b *builder) err() error {
	for _, kind := range []struct {
		name string
		keys map[string]string
	}{{"names", b.ov.Names}, {"fields", b.ov.Fields}, {"oneofs", b.ov.Oneofs}} {
		for _, k := range sortedKeys(kind.keys) {
			if !b.used[kind.name+":"+k] {
				b.errorf("overrides: %s: %q names nothing in the spec", kind.name, k)
			}
		}
	}
	return errors.Join(b.errs...)
}

// shape is what a schema maps to: a type, or a list or map of shapes.
type shape struct {
	typ  *Type
	list *shape // the elements of a list
	dict *shape // the values of a map
	comp string // the component the shape is, if any
}

var httpVerbs = []string{"get", "put", "post", "delete", "patch"}

func (b *builder) build() {
	// Every operation, in the spec's order, and what it reaches.
	for _, path := range sorted(b.order, "/paths", b.doc.Paths.Map()) {
		item := b.doc.Paths.Value(path)
		ptr := "/paths/" + escapePointer(path)
		for _, verb := range b.order[ptr] {
			if !slices.Contains(httpVerbs, verb) {
				continue
			}
			op := item.GetOperation(strings.ToUpper(verb))
			b.method(path, strings.ToUpper(verb), ptr+"/"+verb, item, op)
		}
	}
	// The schemas of error responses: the problem documents.
	b.file = problemFile
	for _, path := range sorted(b.order, "/paths", b.doc.Paths.Map()) {
		item := b.doc.Paths.Value(path)
		for _, verb := range httpVerbs {
			op := item.GetOperation(strings.ToUpper(verb))
			if op == nil || op.Responses == nil {
				continue
			}
			for _, status := range sorted(b.order, "", op.Responses.Map()) {
				if isSuccess(status) {
					continue
				}
				for _, media := range op.Responses.Value(status).Value.Content {
					if media.Schema != nil {
						b.shapeOf(media.Schema, "", "")
					}
				}
			}
		}
	}
	// Every other component.
	b.file = componentsFile
	for _, name := range sorted(b.order, "/components/schemas", b.doc.Components.Schemas) {
		b.component(name)
	}
}

func isSuccess(status string) bool { return len(status) == 3 && status[0] == '2' }

// method adds the RPC of one operation to its tag's service.
func (b *builder) method(path, verb, ptr string, item *openapi3.PathItem, op *openapi3.Operation) {
	tag := "Default"
	if len(op.Tags) > 0 {
		tag = op.Tags[0]
	}
	svc := b.services[tag]
	if svc == nil {
		svc = &Service{Name: ServiceName(tag), Tag: tag}
		svc.File = snakeCase(strings.TrimSuffix(svc.Name, "Service")) + "_service"
		b.services[tag] = svc
		b.api.Services = append(b.api.Services, svc)
	}
	b.file = strings.TrimSuffix(svc.File, "_service")
	if op.OperationID == "" {
		b.errorf("%s %s: no operationId", verb, path)
		return
	}
	m := &Method{
		Name:        RPCName(op.OperationID),
		OperationID: op.OperationID,
		Summary:     op.Summary,
		Description: op.Description,
		Deprecated:  op.Deprecated,
		Verb:        verb,
		Path:        path,
	}
	svc.Methods = append(svc.Methods, m)
	m.Request = b.fixedMessage(m.Name+"Request", svc.File, ptr, "The request of "+m.Name+".")
	m.Response = b.fixedMessage(m.Name+"Response", svc.File, ptr, "The response of "+m.Name+".")

	// Parameters: those of the path item, replaced by the operation's own of
	// the same name and location.
	params := map[string]*openapi3.Parameter{}
	var names []string
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, p := range list {
			key := p.Value.In + ":" + p.Value.Name
			if _, ok := params[key]; !ok {
				names = append(names, key)
			}
			params[key] = p.Value
		}
	}
	var query []*openapi3.Parameter
	bound := map[string]bool{}
	template := path
	for _, segment := range pathParams(path) {
		p := params["path:"+segment]
		if p == nil {
			b.errorf("%s: path parameter %q is not declared", m.OperationID, segment)
			continue
		}
		f := b.parameterField(m, p)
		template = strings.Replace(template, "{"+segment+"}", "{"+f.Name+"}", 1)
		bound[p.Name] = true
		bound[f.Name] = true
	}
	m.Template = template
	for _, key := range names {
		p := params[key]
		switch p.In {
		case "path":
		case "query":
			query = append(query, p)
			f := b.parameterField(m, p)
			bound[p.Name] = true
			bound[f.Name] = true
		default:
			b.errorf("%s: %s parameter %q: only path and query parameters are supported", m.OperationID, p.In, p.Name)
		}
	}

	if op.RequestBody != nil && op.RequestBody.Value != nil {
		b.requestBody(m, ptr+"/requestBody", op.RequestBody.Value, len(query) > 0, bound)
	}
	b.response(m, ptr, op)
}

// pathParams returns the names of a path's parameters, in order.
func pathParams(path string) []string {
	var out []string
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, path[i+1:i+j])
		path = path[i+j+1:]
	}
}

// parameterField adds the request field of a path or query parameter.
func (b *builder) parameterField(m *Method, p *openapi3.Parameter) *Field {
	f := &Field{
		Name:       snakeCase(p.Name),
		JSONName:   p.Name,
		Comment:    comment("", p.Description, p.Example, schemaDefault(p.Schema)),
		Deprecated: p.Deprecated,
		Required:   p.Required,
	}
	var s *shape
	if p.Schema == nil {
		s = &shape{typ: &Type{Scalar: "string"}}
	} else {
		s = b.shapeOf(p.Schema, m.Request.Name+pascalCase(p.Name), "")
		if f.Comment == "" && p.Schema.Value != nil {
			f.Comment = comment("", p.Schema.Value.Description, p.Schema.Value.Example, p.Schema.Value.Default)
		}
	}
	b.fieldType(f, s, m.Request.Name+pascalCase(p.Name))
	if f.Type != nil && f.Type.Message != nil && !isWellKnown(f.Type) {
		b.errorf("%s: parameter %q: objects cannot be parameters", m.OperationID, p.Name)
	}
	b.addField(m.Request, f)
	return f
}

func schemaDefault(ref *openapi3.SchemaRef) any {
	if ref == nil || ref.Value == nil {
		return nil
	}
	return ref.Value.Default
}

// requestBody adds the request's body: every property of an object body as
// a request field of its own (body "*"), unless the operation has query
// parameters or a property is named like a parameter; then, and for a body
// that is not an object, one field "body" holding the body's message.
func (b *builder) requestBody(m *Method, ptr string, body *openapi3.RequestBody, hasQuery bool, bound map[string]bool) {
	media := body.Content.Get("application/json")
	if media == nil || media.Schema == nil {
		b.errorf("%s: the request body is not application/json", m.OperationID)
		return
	}
	s := media.Schema.Value
	star := !hasQuery && b.kind(s) == kindObject
	if star {
		for _, p := range b.properties(s) {
			if bound[p.name] || bound[snakeCase(p.name)] {
				star = false
			}
		}
	}
	if star {
		m.Body = "*"
		b.fill(m.Request, s, ptr)
		return
	}
	m.Body = "body"
	f := &Field{Name: "body", JSONName: "body", Comment: "The REST request body.", Required: body.Required}
	b.fieldType(f, b.shapeOf(media.Schema, m.Name+"Body", ""), m.Name+"Body")
	b.addField(m.Request, f)
}

// response fills the response message from the first 2xx response: the
// properties of an inline object, or one field holding any other body.
func (b *builder) response(m *Method, ptr string, op *openapi3.Operation) {
	if op.Responses == nil {
		return
	}
	for _, status := range sorted(b.order, ptr+"/responses", op.Responses.Map()) {
		if !isSuccess(status) {
			continue
		}
		resp := op.Responses.Value(status).Value
		if len(resp.Content) == 0 {
			return // 201 or 204 without a body: an empty response
		}
		if media := resp.Content.Get("application/json"); media != nil && media.Schema != nil {
			b.jsonResponse(m, ptr+"/responses/"+status+"/content/application~1json/schema", media.Schema)
			return
		}
		if media := resp.Content.Get("text/plain"); media != nil {
			m.TextResponse = true
			m.ResponseBody = "text"
			b.addField(m.Response, &Field{Name: "text", JSONName: "text", Type: &Type{Scalar: "string"}, Comment: firstNonEmpty(deref(resp.Description), "The REST response body, as text.")})
			return
		}
		b.errorf("%s: response %s: no application/json or text/plain content", m.OperationID, status)
		return
	}
}

func (b *builder) jsonResponse(m *Method, ptr string, ref *openapi3.SchemaRef) {
	if ref.Ref == "" && b.kind(ref.Value) == kindObject {
		b.fill(m.Response, ref.Value, ptr)
		return
	}
	s := b.shapeOf(ref, m.Name+"ResponseBody", "")
	var name string
	switch {
	case s.list != nil && s.list.typ != nil:
		name = plural(snakeCase(s.list.typ.Name()))
	case s.list != nil:
		name = "items"
	case s.comp != "":
		name = snakeCase(b.finalName(s.comp))
	case s.typ != nil && (s.typ.Message != nil || s.typ.Enum != nil):
		name = snakeCase(s.typ.Name())
	default:
		name = "body"
	}
	if s.list != nil && s.list.typ != nil && isWellKnown(s.list.typ) {
		name = "items"
	}
	m.ResponseBody = b.fieldName(m.Response.Name, name)
	f := &Field{Name: m.ResponseBody, JSONName: defaultJSONName(m.ResponseBody), Comment: "The REST response body."}
	b.fieldType(f, s, m.Name+"ResponseBody")
	b.addField(m.Response, f)
}

// fixedMessage makes a message whose name is fixed (an RPC's request or
// response).
func (b *builder) fixedMessage(name, file, origin, comment string) *Message {
	if prev := b.messages[name]; prev != nil {
		b.errorf("%s: the message name %s is taken by %s: rename that one in the overrides", origin, name, prev.origin)
	}
	m := &Message{Name: name, File: file, Comment: comment, origin: origin}
	b.messages[name] = m
	b.api.Messages = append(b.api.Messages, m)
	return m
}

// finalName is the name of a derived name after the overrides.
func (b *builder) finalName(derived string) string {
	if name, ok := b.ov.Names[derived]; ok {
		b.used["names:"+derived] = true
		return name
	}
	return derived
}

// fieldName is a field's name after the overrides.
func (b *builder) fieldName(message, derived string) string {
	key := message + "." + derived
	if name, ok := b.ov.Fields[key]; ok {
		b.used["fields:"+key] = true
		return name
	}
	return derived
}

func (b *builder) component(name string) *shape {
	if s, ok := b.components[name]; ok {
		return s
	}
	ref := b.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		b.errorf("schema %q: not found", name)
		return &shape{typ: &Type{Scalar: valueType}}
	}
	return b.schema(ref.Value, name, name)
}

// componentName returns the component a $ref names, or "".
func componentName(ref string) string {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		return ""
	}
	return name
}

// shapeOf maps a schema: a component by its name, an inline schema by the
// name derived from where it is.
func (b *builder) shapeOf(ref *openapi3.SchemaRef, name, _ string) *shape {
	if ref == nil || ref.Value == nil {
		return &shape{typ: &Type{Scalar: valueType}}
	}
	if comp := componentName(ref.Ref); comp != "" {
		return b.component(comp)
	}
	return b.schema(ref.Value, name, "")
}

// The kinds of schema.
const (
	kindObject = iota
	kindMap
	kindStruct
	kindList
	kindEnum
	kindScalar
	kindAny
)

func (b *builder) kind(s *openapi3.Schema) int {
	switch {
	case len(s.OneOf) > 0 || len(s.AllOf) > 0:
		return kindObject
	case s.Type.Is("array"):
		return kindList
	case s.Type.Is("string") && len(s.Enum) > 0:
		return kindEnum
	case s.Type.Is("string"), s.Type.Is("integer"), s.Type.Is("number"), s.Type.Is("boolean"):
		return kindScalar
	case s.Type.Is("object") || len(s.Properties) > 0 || s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil:
		switch {
		case len(s.Properties) == 0 && s.AdditionalProperties.Schema != nil:
			return kindMap
		case len(s.Properties) == 0, s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has:
			return kindStruct
		}
		return kindObject
	}
	return kindAny
}

// schema maps a schema named name (derived; comp when it is a component).
func (b *builder) schema(s *openapi3.Schema, name, comp string) *shape {
	out := &shape{comp: comp}
	if comp != "" {
		b.components[comp] = out // before the fields: schemas may be recursive
	}
	switch b.kind(s) {
	case kindObject:
		out.typ = &Type{Message: b.message(s, name, comp)}
	case kindMap:
		out.dict = b.shapeOf(s.AdditionalProperties.Schema, name+"Value", "")
	case kindStruct:
		out.typ = &Type{Scalar: structType}
	case kindList:
		out.list = b.shapeOf(s.Items, name+"Item", "")
	case kindEnum:
		out.typ = &Type{Enum: b.enum(s, name, comp)}
	case kindScalar:
		out.typ = &Type{Scalar: scalarType(s)}
	default:
		out.typ = &Type{Scalar: valueType}
	}
	return out
}

func scalarType(s *openapi3.Schema) string {
	switch {
	case s.Type.Is("string") && s.Format == "date-time":
		return timestampType
	case s.Type.Is("string"):
		return "string"
	case s.Type.Is("integer") && s.Format == "int64":
		return "int64"
	case s.Type.Is("integer"):
		return "int32"
	case s.Type.Is("number"):
		return "double"
	}
	return "bool"
}

// message maps an object schema.
func (b *builder) message(s *openapi3.Schema, derived, comp string) *Message {
	name := b.finalName(derived)
	if !isIdent(name) {
		b.errorf("schema %q: %q is not a proto identifier: name it in the overrides", firstNonEmpty(comp, derived), name)
		name = "Invalid"
	}
	if prev := b.messages[name]; prev != nil {
		if prev.defaultName == derived || name != derived {
			return prev // the same schema again, or another the overrides merge into it
		}
		b.errorf("schema %q: the message name %s is taken by %s: rename one in the overrides", firstNonEmpty(comp, derived), name, prev.origin)
		return prev
	}
	m := &Message{
		Name:        name,
		File:        b.file,
		Comment:     comment(s.Title, s.Description, s.Example, s.Default),
		Deprecated:  s.Deprecated,
		origin:      firstNonEmpty(comp, derived),
		defaultName: derived,
	}
	b.messages[name] = m
	b.api.Messages = append(b.api.Messages, m)
	b.fill(m, s, "")
	return m
}

// prop is a property of an object schema, allOf's parts merged in.
type prop struct {
	name     string
	ref      *openapi3.SchemaRef
	required bool
}

// properties returns an object schema's properties, those of its allOf parts
// first, each in the spec's order; a property named again replaces the
// earlier one in its place.
func (b *builder) properties(s *openapi3.Schema) []prop {
	var out []prop
	b.collect(s, &out, map[string]bool{})
	return out
}

func (b *builder) collect(s *openapi3.Schema, out *[]prop, required map[string]bool) {
	for _, r := range s.Required {
		required[r] = true
	}
	for _, part := range s.AllOf {
		if part.Value != nil {
			b.collect(part.Value, out, required)
		}
	}
	for _, name := range b.propertyOrder(s) {
		p := prop{name: name, ref: s.Properties[name]}
		i := slices.IndexFunc(*out, func(q prop) bool { return q.name == name })
		if i >= 0 {
			(*out)[i].ref = p.ref
		} else {
			*out = append(*out, p)
		}
	}
	for i := range *out {
		(*out)[i].required = required[(*out)[i].name]
	}
}

// propertyOrder returns the names of s's properties in the spec's order.
func (b *builder) propertyOrder(s *openapi3.Schema) []string {
	return sorted(b.order, b.pointers[s]+"/properties", s.Properties)
}

// indexSchemas records where each inline schema of the spec is, by its JSON
// pointer: the reader resolves $refs into shared values but keeps no
// position.
func (b *builder) indexSchemas() {
	b.pointers = map[*openapi3.Schema]string{}
	var walk func(ref *openapi3.SchemaRef, ptr string)
	walk = func(ref *openapi3.SchemaRef, ptr string) {
		if ref == nil || ref.Value == nil || ref.Ref != "" {
			return
		}
		if _, seen := b.pointers[ref.Value]; seen {
			return
		}
		s := ref.Value
		b.pointers[s] = ptr
		for name, p := range s.Properties {
			walk(p, ptr+"/properties/"+escapePointer(name))
		}
		walk(s.Items, ptr+"/items")
		walk(s.AdditionalProperties.Schema, ptr+"/additionalProperties")
		for kind, parts := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "oneOf": s.OneOf, "anyOf": s.AnyOf} {
			for i, p := range parts {
				walk(p, fmt.Sprintf("%s/%s/%d", ptr, kind, i))
			}
		}
	}
	for name, ref := range b.doc.Components.Schemas {
		walk(&openapi3.SchemaRef{Value: ref.Value}, "/components/schemas/"+escapePointer(name))
	}
	for path, item := range b.doc.Paths.Map() {
		itemPtr := "/paths/" + escapePointer(path)
		for verb, op := range item.Operations() {
			ptr := itemPtr + "/" + strings.ToLower(verb)
			for i, p := range op.Parameters {
				if p.Ref == "" && p.Value != nil {
					walk(p.Value.Schema, fmt.Sprintf("%s/parameters/%d/schema", ptr, i))
				}
			}
			if op.RequestBody != nil && op.RequestBody.Ref == "" && op.RequestBody.Value != nil {
				for media, m := range op.RequestBody.Value.Content {
					walk(m.Schema, ptr+"/requestBody/content/"+escapePointer(media)+"/schema")
				}
			}
			if op.Responses == nil {
				continue
			}
			for status, r := range op.Responses.Map() {
				if r.Ref != "" || r.Value == nil {
					continue
				}
				for media, m := range r.Value.Content {
					walk(m.Schema, ptr+"/responses/"+status+"/content/"+escapePointer(media)+"/schema")
				}
			}
		}
		for i, p := range item.Parameters {
			if p.Ref == "" && p.Value != nil {
				walk(p.Value.Schema, fmt.Sprintf("%s/parameters/%d/schema", itemPtr, i))
			}
		}
	}
}

// fill adds the fields of an object schema to m.
func (b *builder) fill(m *Message, s *openapi3.Schema, _ string) {
	for _, p := range b.properties(s) {
		f := &Field{
			Name:     b.fieldName(m.Name, snakeCase(p.name)),
			JSONName: p.name,
			Required: p.required,
		}
		if v := p.ref.Value; v != nil {
			f.Comment = comment("", v.Description, v.Example, v.Default)
			if f.Comment == "" && p.ref.Ref != "" {
				f.Comment = comment(v.Title, "", nil, nil)
			}
			f.Deprecated = v.Deprecated
		}
		b.fieldType(f, b.shapeOf(p.ref, m.Name+pascalCase(p.name), ""), m.Name+pascalCase(p.name))
		b.addField(m, f)
	}
	for _, oneOf := range b.oneOfs(s) {
		b.oneof(m, oneOf)
	}
}

// oneOfs returns the oneOf lists of s and of its allOf parts.
func (b *builder) oneOfs(s *openapi3.Schema) []openapi3.SchemaRefs {
	var out []openapi3.SchemaRefs
	for _, part := range s.AllOf {
		if part.Value != nil {
			out = append(out, b.oneOfs(part.Value)...)
		}
	}
	if len(s.OneOf) > 0 {
		out = append(out, s.OneOf)
	}
	return out
}

// oneof adds a oneof of m's: its variants, each a field. A variant that is
// an inline object with exactly one property is that property, named as
// the REST JSON names it; any other variant is an object whose properties
// are the enclosing object's own (untagged), a field named after its
// message less the words it shares with m's name.
func (b *builder) oneof(m *Message, variants openapi3.SchemaRefs) {
	ws := words(m.Name)
	o := &Oneof{Name: strings.ToLower(ws[len(ws)-1])}
	if name, ok := b.ov.Oneofs[m.Name+"."+o.Name]; ok {
		b.used["oneofs:"+m.Name+"."+o.Name] = true
		o.Name = name
	}
	tagged := 0
	for i, v := range variants {
		if v.Value == nil {
			continue
		}
		if v.Ref == "" && b.kind(v.Value) == kindObject && len(v.Value.Properties) == 1 && len(v.Value.AllOf) == 0 && len(v.Value.OneOf) == 0 {
			name := sortedKeys(v.Value.Properties)[0]
			ref := v.Value.Properties[name]
			f := &Field{Name: b.fieldName(m.Name, snakeCase(name)), JSONName: name, Oneof: o}
			if ref.Value != nil {
				f.Comment = comment(ref.Value.Title, ref.Value.Description, ref.Value.Example, nil)
			}
			b.fieldType(f, b.shapeOf(ref, m.Name+pascalCase(name), ""), m.Name+pascalCase(name))
			o.Fields = append(o.Fields, f)
			b.addField(m, f)
			tagged++
			continue
		}
		s := b.shapeOf(v, fmt.Sprintf("%sVariant%d", m.Name, i+1), "")
		if s.typ == nil || s.typ.Message == nil || isWellKnown(s.typ) {
			b.errorf("%s: oneOf variant %d is not an object: not supported", m.origin, i+1)
			continue
		}
		name := snakeCase(trimWords(s.typ.Message.Name, m.Name))
		f := &Field{Name: b.fieldName(m.Name, name), Type: s.typ, Oneof: o, Comment: s.typ.Message.Comment}
		f.JSONName = defaultJSONName(f.Name)
		o.Fields = append(o.Fields, f)
		b.addField(m, f)
	}
	switch {
	case tagged == len(o.Fields):
	case tagged == 0:
		o.Untagged = true
	default:
		b.errorf("%s: a oneOf mixes single-property and object variants: not supported", m.origin)
	}
	m.Oneofs = append(m.Oneofs, o)
}

// fieldType sets f's type and label from a shape: a list is repeated, a
// map is a map; a list or map held in a list or map is a wrapper message.
func (b *builder) fieldType(f *Field, s *shape, name string) {
	switch {
	case s.list != nil:
		f.Repeated = true
		f.Type = b.element(s.list, name+"Item")
	case s.dict != nil:
		f.MapValue = b.element(s.dict, name+"Value")
	default:
		f.Type = s.typ
		f.Optional = f.Oneof == nil && (s.typ.Scalar == "bool" || s.typ.Scalar == "int32" || s.typ.Scalar == "int64" || s.typ.Scalar == "double")
	}
}

// element is the type of a list's element or a map's value: its own, or a
// wrapper message holding a list or a map in its one field, "values".
func (b *builder) element(s *shape, derived string) *Type {
	if s.list == nil && s.dict == nil {
		return s.typ
	}
	if s.comp != "" {
		derived = s.comp
	}
	name := b.finalName(derived)
	if m := b.messages[name]; m != nil {
		if !m.Wrapper {
			b.errorf("%s: the wrapper message name %s is taken by %s", derived, name, m.origin)
		}
		return &Type{Message: m}
	}
	kind := "list"
	if s.dict != nil {
		kind = "map"
	}
	m := &Message{
		Name:        name,
		File:        b.file,
		Wrapper:     true,
		Comment:     "A " + kind + " held in a list or a map: its REST value is the value of its one field.",
		origin:      derived,
		defaultName: derived,
	}
	b.messages[name] = m
	b.api.Messages = append(b.api.Messages, m)
	f := &Field{Name: "values", JSONName: "values"}
	b.fieldType(f, s, name)
	b.addField(m, f)
	return &Type{Message: m}
}

func (b *builder) addField(m *Message, f *Field) {
	for _, g := range m.Fields {
		if g.Name == f.Name {
			b.errorf("%s: two fields named %s (REST %q and %q): rename one in the overrides", m.origin, f.Name, g.JSONName, f.JSONName)
			return
		}
	}
	if !isIdent(f.Name) {
		b.errorf("%s: %q is not a proto field name: rename it in the overrides", m.origin, f.Name)
	}
	m.Fields = append(m.Fields, f)
}

// enum maps a string enum.
func (b *builder) enum(s *openapi3.Schema, derived, comp string) *Enum {
	name := b.finalName(derived)
	var values []string
	for _, v := range s.Enum {
		if str, ok := v.(string); ok {
			values = append(values, str)
		}
	}
	if prev := b.enums[name]; prev != nil {
		var had []string
		for _, v := range prev.Values[1:] {
			had = append(had, v.REST)
		}
		if !slices.Equal(sortedCopy(had), sortedCopy(values)) {
			b.errorf("schema %q: the enum name %s is taken by %s, whose values differ", firstNonEmpty(comp, derived), name, prev.origin)
		}
		return prev
	}
	if !isIdent(name) {
		b.errorf("schema %q: %q is not a proto identifier: name it in the overrides", firstNonEmpty(comp, derived), name)
	}
	e := &Enum{
		Name:    name,
		File:    b.file,
		Comment: comment(s.Title, s.Description, nil, s.Default),
		origin:  firstNonEmpty(comp, derived),
	}
	prefix := upperSnakeCase(name) + "_"
	e.Values = append(e.Values, &EnumValue{Name: prefix + "UNSPECIFIED"})
	seen := map[string]string{}
	for _, v := range values {
		suffix := upperSnakeCase(v)
		if suffix == "" || suffix == "UNSPECIFIED" {
			b.errorf("%s: enum value %q has no usable name", e.origin, v)
			continue
		}
		if other, ok := seen[suffix]; ok {
			b.errorf("%s: enum values %q and %q have the same name %s", e.origin, other, v, prefix+suffix)
			continue
		}
		seen[suffix] = v
		e.Values = append(e.Values, &EnumValue{Name: prefix + suffix, REST: v})
	}
	b.enums[name] = e
	b.api.Enums = append(b.api.Enums, e)
	return e
}

func isWellKnown(t *Type) bool {
	return t.Message == nil && t.Enum == nil && strings.HasPrefix(t.Scalar, "google.protobuf.")
}

// comment composes a comment from a schema's title, description, example
// and default.
func comment(title, description string, example, def any) string {
	var parts []string
	title, description = strings.TrimSpace(title), strings.TrimSpace(description)
	switch {
	case title != "" && description != "":
		parts = append(parts, title+": "+description)
	case description != "":
		parts = append(parts, description)
	case title != "":
		parts = append(parts, title+".")
	}
	if def != nil {
		parts = append(parts, "Default: "+codeSpan(def)+" (the default is not filled in).")
	}
	if example != nil {
		parts = append(parts, "Example: "+codeSpan(example)+".")
	}
	return strings.Join(parts, "\n")
}

// codeSpan writes a value as a Markdown code span: strings as they are,
// anything else as compact JSON, cut when long.
func codeSpan(v any) string {
	text, ok := v.(string)
	if !ok {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		text = string(data)
	}
	text = strings.ReplaceAll(text, "\n", " ")
	if r := []rune(text); len(r) > 200 {
		text = string(r[:197]) + "..."
	}
	return "`" + strings.ReplaceAll(text, "`", "'") + "`"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
