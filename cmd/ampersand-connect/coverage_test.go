package main_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// protoPackage is the package the schema is generated into.
const protoPackage = "ampersand.v1"

// TestSchemaCoversSpec holds the compiled schema (the descriptors of
// gen/ampersand/v1) to openapi/ampersand-api.json, both ways. From the spec
// to the schema: every operation has its RPC (a service per tag, the RPC
// named by the operationId) whose google.api.http rule has the spec's verb
// and path, with the fields whose JSON names are the path parameters as
// its variables; every path and query parameter, and every property of
// every object schema (allOf merged, oneOf variants included) has a field
// whose JSON name is its REST name, of the type the README's rules give;
// every string enum value has an enum value whose rest_value is it. From
// the schema to the spec: every service, RPC, message, field and enum
// value was reached from the spec; the only fields no REST name stands for
// are the generated ones (a wrapper's "values", an untagged oneof's
// variants, the request field named by the rule's body, the response field
// named by its response_body), and the only enum values, _UNSPECIFIED.
func TestSchemaCoversSpec(t *testing.T) {
	t.Parallel()
	sp := sharedSpec(t)
	c := checkCoverage(sp)
	for _, problem := range c.problems {
		t.Error(problem)
	}
	t.Logf("%d operations, %d properties and parameters, %d messages, %d enum values", len(sp.ops), c.properties, len(c.messages), len(c.values))
	// A walk that stopped early would find nothing wrong.
	if len(sp.ops) < 82 || c.properties < 1000 || len(c.messages) < 300 {
		t.Errorf("walked %d operations and %d properties into %d messages: is the walk broken?", len(sp.ops), c.properties, len(c.messages))
	}
}

// TestCoverageCatchesSpecChanges changes the spec as a new revision might,
// without regenerating, and checks that the coverage walk reports each
// change: the schema no longer covers the spec, or no longer comes from it.
func TestCoverageCatchesSpecChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(t *testing.T, sp *apiSpec)
		want string
	}{{
		// As TestSchemaCoverageCatchesNewProperty of internal/service does
		// on openapi/get-integration.yaml.
		name: "a property added deep in GetIntegration's answer",
		edit: func(t *testing.T, sp *apiSpec) {
			integration := sp.op(t, "getIntegration").Response.Value
			period := dig(t, integration, "latestRevision", "content", "read", "objects", "[]", "backfill", "defaultPeriod")
			period.Properties["weeks"] = openapi3.NewIntegerSchema().NewRef()
		},
		want: `.backfill.defaultPeriod.weeks: no field with JSON name "weeks" in ampersand.v1.DefaultPeriod`,
	}, {
		name: "a property added to a request body",
		edit: func(t *testing.T, sp *apiSpec) {
			sp.op(t, "createProject").Body.Value.Properties["colour"] = openapi3.NewStringSchema().NewRef()
		},
		want: `createProject request body.colour: no field with JSON name "colour" in ampersand.v1.`,
	}, {
		name: "a property added to an untagged oneOf's variant",
		edit: func(t *testing.T, sp *apiSpec) {
			sp.doc.Components.Schemas["IntegrationFieldMapping"].Value.Properties["hint"] = openapi3.NewStringSchema().NewRef()
		},
		want: `.hint: no field with JSON name "hint" in ampersand.v1.IntegrationFieldMapping`,
	}, {
		name: "a variant added to an untagged oneOf",
		edit: func(t *testing.T, sp *apiSpec) {
			field := sp.doc.Components.Schemas["IntegrationField"].Value
			field.OneOf = append(field.OneOf, sp.doc.Components.Schemas["IntegrationFieldMapping"])
		},
		want: `a oneOf of 3 objects must be an untagged oneof of as many fields in ampersand.v1.IntegrationField`,
	}, {
		name: "a property's type changed",
		edit: func(t *testing.T, sp *apiSpec) {
			sp.doc.Components.Schemas["Project"].Value.Properties["appName"] = openapi3.NewIntegerSchema().NewRef()
		},
		want: `.appName: ampersand.v1.Project.app_name must be an int32, is a string`,
	}, {
		name: "a property no longer required",
		edit: func(t *testing.T, sp *apiSpec) {
			project := sp.doc.Components.Schemas["Project"].Value
			project.Required = slices.DeleteFunc(slices.Clone(project.Required), func(r string) bool { return r == "appName" })
		},
		want: `.appName: ampersand.v1.Project.app_name: REQUIRED is true, the spec's required is false`,
	}, {
		name: "a property dropped",
		edit: func(t *testing.T, sp *apiSpec) {
			delete(sp.doc.Components.Schemas["Project"].Value.Properties, "appName")
		},
		want: `field ampersand.v1.Project.app_name comes from no property or parameter of the spec`,
	}, {
		name: "an enum value added",
		edit: func(t *testing.T, sp *apiSpec) {
			mode := dig(t, sp.op(t, "getIntegration").Response.Value, "latestRevision", "content", "read", "objects", "[]", "delivery", "mode")
			mode.Enum = append(mode.Enum, "weekly")
		},
		want: `no value of ampersand.v1.DeliveryMode has rest_value "weekly"`,
	}, {
		name: "an enum value dropped",
		edit: func(t *testing.T, sp *apiSpec) {
			mode := dig(t, sp.op(t, "getIntegration").Response.Value, "latestRevision", "content", "read", "objects", "[]", "delivery", "mode")
			mode.Enum = slices.DeleteFunc(slices.Clone(mode.Enum), func(v any) bool { return v == "onRequest" })
		},
		want: `enum value ampersand.v1.DELIVERY_MODE_ON_REQUEST comes from no value of the spec`,
	}, {
		name: "a query parameter added",
		edit: func(t *testing.T, sp *apiSpec) {
			op := sp.op(t, "getIntegration")
			op.Params = append(op.Params, &openapi3.Parameter{In: "query", Name: "expand", Schema: openapi3.NewStringSchema().NewRef()})
		},
		want: `getIntegration query parameter expand: no request field with JSON name "expand"`,
	}, {
		name: "a path changed",
		edit: func(t *testing.T, sp *apiSpec) {
			sp.op(t, "getIntegration").Path = "/projects/{projectIdOrName}/integrations/{integrationIdOrName}:full"
		},
		want: `getIntegration: the rule is GET /projects/{project_id_or_name}/integrations/{integration_id_or_name}, want GET /projects/{project_id_or_name}/integrations/{integration_id_or_name}:full`,
	}, {
		name: "a verb changed",
		edit: func(t *testing.T, sp *apiSpec) { sp.op(t, "updateProject").Verb = "PUT" },
		want: `updateProject: the rule is PATCH /projects/{project_id_or_name}, want PUT /projects/{project_id_or_name}`,
	}, {
		name: "an operation added",
		edit: func(t *testing.T, sp *apiSpec) {
			sp.ops = append(sp.ops, &specOp{ID: "listWidgets", Verb: "GET", Path: "/widgets", Service: "ampersand.v1.ProjectService", RPC: "ListWidgets", Status: 200})
		},
		want: `listWidgets: no RPC ampersand.v1.ProjectService.ListWidgets`,
	}, {
		name: "an operation dropped",
		edit: func(t *testing.T, sp *apiSpec) {
			sp.ops = slices.DeleteFunc(sp.ops, func(op *specOp) bool { return op.ID == "deleteTopic" })
		},
		want: `RPC ampersand.v1.DestinationService.DeleteTopic comes from no operation of the spec`,
	}, {
		name: "a tag renamed",
		edit: func(t *testing.T, sp *apiSpec) {
			for _, op := range sp.ops {
				if op.Service == "ampersand.v1.UploadURLService" {
					op.Service = "ampersand.v1." + serviceName("Upload Link")
				}
			}
		},
		want: `service ampersand.v1.UploadURLService comes from no tag of the spec`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sp, err := readSpec()
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(t, sp)
			c := checkCoverage(sp)
			if !slices.ContainsFunc(c.problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("no problem contains %q; the problems:\n%s", tt.want, strings.Join(c.problems, "\n"))
			}
		})
	}
}

// op returns the operation of an operationId.
func (sp *apiSpec) op(t *testing.T, id string) *specOp {
	t.Helper()
	for _, op := range sp.ops {
		if op.ID == id {
			return op
		}
	}
	t.Fatalf("no operation %s", id)
	return nil
}

// dig walks down an object schema's properties; "[]" steps into a list's
// items and "{}" into a map's values.
func dig(t *testing.T, s *openapi3.Schema, steps ...string) *openapi3.Schema {
	t.Helper()
	for _, step := range steps {
		switch step {
		case "[]":
			s = s.Items.Value
		case "{}":
			s = s.AdditionalProperties.Schema.Value
		default:
			p := objectOf(s).props[step]
			if p == nil {
				t.Fatalf("no property %s", step)
			}
			s = p.Value
		}
	}
	return s
}

// coverage is one walk of the spec beside the descriptors.
type coverage struct {
	sp       *apiSpec
	files    *protoregistry.Files
	problems []string
	// What the spec reached.
	services map[protoreflect.FullName]bool
	methods  map[protoreflect.FullName]bool
	messages map[protoreflect.FullName]bool
	fields   map[protoreflect.FullName]bool
	enums    map[protoreflect.FullName]bool
	values   map[protoreflect.FullName]bool
	walked   map[string]bool // schema and message pairs already walked
	// properties counts the properties and parameters walked.
	properties int
}

func (c *coverage) fail(where, format string, args ...any) {
	c.problems = append(c.problems, where+": "+fmt.Sprintf(format, args...))
}

// checkCoverage walks every operation of the spec, then every component
// schema, beside the descriptors, then every descriptor of the package to
// find what the spec did not reach.
func checkCoverage(sp *apiSpec) *coverage {
	_ = ampersandv1.File_ampersand_v1_options_proto // linked in for its descriptors
	c := &coverage{
		sp:       sp,
		files:    protoregistry.GlobalFiles,
		services: map[protoreflect.FullName]bool{},
		methods:  map[protoreflect.FullName]bool{},
		messages: map[protoreflect.FullName]bool{},
		fields:   map[protoreflect.FullName]bool{},
		enums:    map[protoreflect.FullName]bool{},
		values:   map[protoreflect.FullName]bool{},
		walked:   map[string]bool{},
	}
	for _, op := range sp.ops {
		c.operation(op)
	}
	c.components()
	c.reverse()
	return c
}

// findMessage returns the message of a full name, or nil.
func (c *coverage) findMessage(name protoreflect.FullName) protoreflect.MessageDescriptor {
	d, err := c.files.FindDescriptorByName(name)
	if err != nil {
		return nil
	}
	md, _ := d.(protoreflect.MessageDescriptor)
	return md
}

// operation checks the RPC of one operation: its rule, its request's
// parameters and body, its response and its errors' schemas.
func (c *coverage) operation(op *specOp) {
	d, err := c.files.FindDescriptorByName(protoreflect.FullName(op.Service))
	sd, _ := d.(protoreflect.ServiceDescriptor)
	if err != nil || sd == nil {
		c.fail(op.ID, "no service %s for tag %q", op.Service, op.Tags)
		return
	}
	c.services[sd.FullName()] = true
	md := sd.Methods().ByName(protoreflect.Name(op.RPC))
	if md == nil {
		c.fail(op.ID, "no RPC %s.%s", op.Service, op.RPC)
		return
	}
	c.methods[md.FullName()] = true
	in, out := md.Input(), md.Output()
	if in.Name() != protoreflect.Name(op.RPC+"Request") || out.Name() != protoreflect.Name(op.RPC+"Response") {
		c.fail(op.ID, "the messages are %s and %s, want %sRequest and %sResponse", in.Name(), out.Name(), op.RPC, op.RPC)
	}
	c.messages[in.FullName()] = true
	c.messages[out.FullName()] = true

	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		c.fail(op.ID, "no google.api.http rule")
		return
	}
	verb, template := ruleVerbPath(rule)
	wantTemplate := op.Path
	for _, name := range op.pathParams() {
		fd := in.Fields().ByJSONName(name)
		if fd == nil {
			c.fail(op.ID, "no request field with JSON name %q for the path parameter", name)
			continue
		}
		wantTemplate = strings.Replace(wantTemplate, "{"+name+"}", "{"+string(fd.Name())+"}", 1)
	}
	if verb != op.Verb || template != wantTemplate {
		c.fail(op.ID, "the rule is %s %s, want %s %s", verb, template, op.Verb, wantTemplate)
	}
	if len(rule.GetAdditionalBindings()) > 0 || rule.GetSelector() != "" {
		c.fail(op.ID, "the rule has a selector or additional bindings")
	}
	wantIdempotency := descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN
	switch op.Verb {
	case "GET":
		wantIdempotency = descriptorpb.MethodOptions_NO_SIDE_EFFECTS
	case "PUT", "DELETE":
		wantIdempotency = descriptorpb.MethodOptions_IDEMPOTENT
	}
	if got := md.Options().(*descriptorpb.MethodOptions).GetIdempotencyLevel(); got != wantIdempotency {
		c.fail(op.ID, "idempotency_level %v, want %v", got, wantIdempotency)
	}

	// Parameters: path and query, each a request field named by its REST
	// name; a query parameter is neither in the body nor the body field.
	for _, p := range op.Params {
		where := op.ID + " " + p.In + " parameter " + p.Name
		if p.In != "path" && p.In != "query" {
			c.fail(where, "only path and query parameters have fields")
			continue
		}
		c.properties++
		fd := in.Fields().ByJSONName(p.Name)
		if fd == nil {
			c.fail(where, "no request field with JSON name %q", p.Name)
			continue
		}
		c.fields[fd.FullName()] = true
		c.required(where, fd, p.Required)
		if p.In == "path" && (fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated) {
			c.fail(where, "a path parameter must be a string field")
		}
		if p.In == "query" && (rule.GetBody() == "*" || rule.GetBody() == string(fd.Name())) {
			c.fail(where, "a query parameter in the body (body %q)", rule.GetBody())
		}
		if p.Schema == nil {
			if fd.Kind() != protoreflect.StringKind {
				c.fail(where, "a parameter without a schema must be a string")
			}
			continue
		}
		c.field(where, p.Schema, fd)
	}

	// The request body: every field not in the path ("*"), or one field.
	where := op.ID + " request body"
	switch body := rule.GetBody(); {
	case op.Body == nil && body != "":
		c.fail(where, "the rule's body is %q, the spec has no body", body)
	case op.Body == nil:
	case body == "":
		c.fail(where, "the spec has a body, the rule none")
	case body == "*":
		if len(op.queryParams()) > 0 {
			c.fail(where, `body "*" with query parameters`)
		}
		c.object(where, op.Body.Value, in)
	default:
		fd := in.Fields().ByName(protoreflect.Name(body))
		if fd == nil {
			c.fail(where, "the rule's body %q is no field of %s", body, in.FullName())
			break
		}
		c.fields[fd.FullName()] = true
		c.field(where, op.Body, fd)
	}

	// The success response: the message itself, or the field named by
	// response_body; nothing for a response without a body.
	where = fmt.Sprintf("%s %d", op.ID, op.Status)
	switch rb := rule.GetResponseBody(); {
	case op.Text:
		fd := out.Fields().ByName(protoreflect.Name(rb))
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated {
			c.fail(where, "a text/plain body must be a string field named by response_body, is %q", rb)
			break
		}
		c.fields[fd.FullName()] = true
	case op.Response == nil:
		if rb != "" || out.Fields().Len() != 0 {
			c.fail(where, "no body: the response must be empty, with no response_body")
		}
	case rb == "":
		if kindOf(op.Response.Value) != kindObject {
			c.fail(where, "a body that is no object must be held in a field named by response_body")
			break
		}
		c.object(where, op.Response.Value, out)
	default:
		fd := out.Fields().ByName(protoreflect.Name(rb))
		if fd == nil {
			c.fail(where, "response_body %q is no field of %s", rb, out.FullName())
			break
		}
		c.fields[fd.FullName()] = true
		c.field(where, op.Response, fd)
	}

	// Error responses: their component's message.
	for _, key := range sortedKeys(op.Errors) {
		s := op.Errors[key]
		name := componentOf(s)
		if name == "" {
			c.fail(op.ID+" "+key, "an inline error schema")
			continue
		}
		if md := c.findMessage(c.sp.typeName(name)); md != nil {
			c.object(op.ID+" "+key, s.Value, md)
		} else {
			c.fail(op.ID+" "+key, "no message %s for schema %s", c.sp.typeName(name), name)
		}
	}
}

func ruleVerbPath(rule *annotations.HttpRule) (string, string) {
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	}
	return "", ""
}

// componentOf returns the component a schema reference names, or "".
func componentOf(s *openapi3.SchemaRef) string {
	name, _ := strings.CutPrefix(s.Ref, "#/components/schemas/")
	return name
}

// typeName is the full name of a component's message or enum: the
// component's name, or the overrides' name for it.
func (sp *apiSpec) typeName(component string) protoreflect.FullName {
	if name, ok := sp.names[component]; ok {
		return protoPackage + "." + protoreflect.FullName(name)
	}
	return protoPackage + "." + protoreflect.FullName(component)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// components walks the component schemas that are messages or enums,
// those no operation reaches among them, by their names.
func (c *coverage) components() {
	schemas := c.sp.doc.Components.Schemas
	for _, name := range sortedKeys(schemas) {
		s := schemas[name].Value
		where := "#/components/schemas/" + name
		switch kindOf(s) {
		case kindObject:
			if md := c.findMessage(c.sp.typeName(name)); md != nil {
				c.object(where, s, md)
			} else {
				c.fail(where, "no message %s", c.sp.typeName(name))
			}
		case kindEnum:
			d, _ := c.files.FindDescriptorByName(c.sp.typeName(name))
			if ed, ok := d.(protoreflect.EnumDescriptor); ok {
				c.enum(where, s, ed)
			} else {
				c.fail(where, "no enum %s", c.sp.typeName(name))
			}
		}
	}
}

// object checks a message against an object schema: a field per property
// (allOf merged), and a oneof per oneOf.
func (c *coverage) object(where string, s *openapi3.Schema, md protoreflect.MessageDescriptor) {
	c.messages[md.FullName()] = true
	key := fmt.Sprintf("%p %s", s, md.FullName())
	if c.walked[key] {
		return
	}
	c.walked[key] = true
	if kindOf(s) != kindObject {
		c.fail(where, "%s stands for a schema that is no object", md.FullName())
		return
	}
	if isWrapper(md) || strings.HasPrefix(string(md.FullName()), "google.") {
		c.fail(where, "an object must be a message of its own, is %s", md.FullName())
		return
	}
	o := objectOf(s)
	for _, name := range o.names() {
		c.properties++
		fd := md.Fields().ByJSONName(name)
		if fd == nil {
			c.fail(where+"."+name, "no field with JSON name %q in %s", name, md.FullName())
			continue
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			c.fail(where+"."+name, "a property is in oneof %s", od.Name())
		}
		c.fields[fd.FullName()] = true
		c.required(where+"."+name, fd, o.required[name])
		c.field(where+"."+name, o.props[name], fd)
	}
	for _, variants := range o.oneOfs {
		if tagged(variants) {
			c.taggedOneof(where, variants, md)
		} else {
			c.untaggedOneof(where, variants, md)
		}
	}
}

// taggedOneof checks a oneOf whose variants are each one property: a
// oneof whose fields are those properties.
func (c *coverage) taggedOneof(where string, variants openapi3.SchemaRefs, md protoreflect.MessageDescriptor) {
	var od protoreflect.OneofDescriptor
	for _, variant := range variants {
		name, p, _ := singleProperty(variant)
		c.properties++
		fd := md.Fields().ByJSONName(name)
		if fd == nil || fd.ContainingOneof() == nil || fd.ContainingOneof().IsSynthetic() {
			c.fail(where+"."+name, "no field of a oneof with JSON name %q in %s", name, md.FullName())
			continue
		}
		if od != nil && fd.ContainingOneof() != od {
			c.fail(where+"."+name, "the variants are in two oneofs")
		}
		od = fd.ContainingOneof()
		if untaggedOption(od) {
			c.fail(where+"."+name, "a oneof of single properties is marked untagged")
		}
		c.fields[fd.FullName()] = true
		c.field(where+"."+name, p, fd)
	}
	if od != nil && od.Fields().Len() != len(variants) {
		c.fail(where, "oneof %s has %d fields for %d variants", od.FullName(), od.Fields().Len(), len(variants))
	}
}

// untaggedOneof checks a oneOf of objects: the message's untagged oneof,
// whose fields, in order, are the variants' messages, each holding its
// variant's properties, its required ones marked REQUIRED.
func (c *coverage) untaggedOneof(where string, variants openapi3.SchemaRefs, md protoreflect.MessageDescriptor) {
	var od protoreflect.OneofDescriptor
	for i := range md.Oneofs().Len() {
		if untaggedOption(md.Oneofs().Get(i)) {
			od = md.Oneofs().Get(i)
		}
	}
	if od == nil || od.Fields().Len() != len(variants) {
		c.fail(where, "a oneOf of %d objects must be an untagged oneof of as many fields in %s", len(variants), md.FullName())
		return
	}
	for i, variant := range variants {
		fd := od.Fields().Get(i)
		c.fields[fd.FullName()] = true // generated: no REST name stands for it
		if i > 0 && fd.Number() < od.Fields().Get(i-1).Number() {
			c.fail(where, "variant %s: the variants' numbers must follow the spec's order", fd.Name())
		}
		if fd.Message() == nil {
			c.fail(where, "variant %s is no message", fd.Name())
			continue
		}
		vo := objectOf(variant.Value)
		for r := range vo.required {
			if f := fd.Message().Fields().ByJSONName(r); f != nil && !isRequired(f) {
				c.fail(where, "variant %s: %s must be marked REQUIRED: its presence tells the variants apart", fd.Name(), r)
			}
		}
		c.object(where+"<"+fd.JSONName()+">", variant.Value, fd.Message())
	}
}

func untaggedOption(od protoreflect.OneofDescriptor) bool {
	return proto.GetExtension(od.Options(), ampersandv1.E_Untagged).(bool)
}

func isWrapper(md protoreflect.MessageDescriptor) bool {
	return proto.GetExtension(md.Options(), ampersandv1.E_Wrapper).(bool)
}

func isRequired(fd protoreflect.FieldDescriptor) bool {
	behaviors, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return slices.Contains(behaviors, annotations.FieldBehavior_REQUIRED)
}

// required checks that a field is marked REQUIRED exactly when the spec
// requires its property or parameter.
func (c *coverage) required(where string, fd protoreflect.FieldDescriptor, required bool) {
	if isRequired(fd) != required {
		c.fail(where, "%s: REQUIRED is %v, the spec's required is %v", fd.FullName(), isRequired(fd), required)
	}
}

// field checks a field against the schema of its property: a list is
// repeated, a map a map, and the elements fit.
func (c *coverage) field(where string, s *openapi3.SchemaRef, fd protoreflect.FieldDescriptor) {
	switch kindOf(s.Value) {
	case kindList:
		if !fd.IsList() {
			c.fail(where, "a list must be a repeated field, %s is not", fd.FullName())
			return
		}
		c.element(where+"[]", s.Value.Items, fd)
	case kindMap:
		if !fd.IsMap() {
			c.fail(where, "a map must be a map field, %s is not", fd.FullName())
			return
		}
		c.element(where+"{}", s.Value.AdditionalProperties.Schema, fd.MapValue())
	default:
		if fd.IsList() || fd.IsMap() {
			c.fail(where, "%s is a list or a map, the schema is neither", fd.FullName())
			return
		}
		c.value(where, s.Value, fd, true)
	}
}

// element checks a list's element or a map's value (whose type is fd's):
// a list or a map there is a wrapper message holding it in "values".
func (c *coverage) element(where string, s *openapi3.SchemaRef, fd protoreflect.FieldDescriptor) {
	if k := kindOf(s.Value); k == kindList || k == kindMap {
		md := fd.Message()
		if md == nil || !isWrapper(md) || md.Fields().Len() != 1 || md.Fields().Get(0).Name() != "values" {
			c.fail(where, "a list or map in a list or map must be a wrapper message with one field, values")
			return
		}
		c.messages[md.FullName()] = true
		values := md.Fields().Get(0)
		c.fields[values.FullName()] = true // generated: no REST name stands for it
		c.field(where, s, values)
		return
	}
	c.value(where, s.Value, fd, false)
}

// value checks one value's type: a message, an enum, a well-known type or
// a scalar; single booleans and numbers keep their presence.
func (c *coverage) value(where string, s *openapi3.Schema, fd protoreflect.FieldDescriptor, single bool) {
	msg := protoreflect.FullName("")
	if fd.Message() != nil {
		msg = fd.Message().FullName()
	}
	want := func(ok bool, what string) {
		if !ok {
			c.fail(where, "%s must be %s, is a %s %s", fd.FullName(), what, fd.Kind(), msg)
		}
	}
	presence := func() {
		if single && !fd.HasPresence() {
			c.fail(where, "%s must keep its presence (optional)", fd.FullName())
		}
	}
	switch kindOf(s) {
	case kindStruct:
		want(msg == "google.protobuf.Struct", "a google.protobuf.Struct")
	case kindAny:
		want(msg == "google.protobuf.Value", "a google.protobuf.Value")
	case kindEnum:
		want(fd.Enum() != nil, "an enum")
		if fd.Enum() != nil {
			c.enum(where, s, fd.Enum())
		}
	case kindScalar:
		switch {
		case s.Type.Is("string") && s.Format == "date-time":
			want(msg == "google.protobuf.Timestamp", "a google.protobuf.Timestamp")
		case s.Type.Is("string"):
			want(fd.Kind() == protoreflect.StringKind, "a string")
		case s.Type.Is("integer") && s.Format == "int64":
			want(fd.Kind() == protoreflect.Int64Kind, "an int64")
			presence()
		case s.Type.Is("integer"):
			want(fd.Kind() == protoreflect.Int32Kind, "an int32")
			presence()
		case s.Type.Is("number"):
			want(fd.Kind() == protoreflect.DoubleKind, "a double")
			presence()
		default:
			want(fd.Kind() == protoreflect.BoolKind, "a bool")
			presence()
		}
	default:
		want(fd.Message() != nil, "a message")
		if fd.Message() != nil {
			c.object(where, s, fd.Message())
		}
	}
}

// enum checks a proto enum against a string enum: a zero value
// <ENUM>_UNSPECIFIED without a REST value, then one value per REST value,
// named <ENUM>_<VALUE in UPPER_SNAKE_CASE>, with rest_value set to it.
func (c *coverage) enum(where string, s *openapi3.Schema, ed protoreflect.EnumDescriptor) {
	c.enums[ed.FullName()] = true
	zero := ed.Values().ByNumber(0)
	if zero == nil || !strings.HasSuffix(string(zero.Name()), "_UNSPECIFIED") || restValueOf(zero) != "" {
		c.fail(where, "%s: the zero value must be <ENUM>_UNSPECIFIED, with no rest_value", ed.FullName())
		return
	}
	c.values[zero.FullName()] = true
	prefix := strings.TrimSuffix(string(zero.Name()), "UNSPECIFIED")
	for _, rest := range stringEnum(s) {
		var found protoreflect.EnumValueDescriptor
		for i := range ed.Values().Len() {
			if v := ed.Values().Get(i); restValueOf(v) == rest {
				found = v
			}
		}
		if found == nil {
			c.fail(where, "no value of %s has rest_value %q", ed.FullName(), rest)
			continue
		}
		c.values[found.FullName()] = true
		if want := prefix + upperSnake(rest); string(found.Name()) != want {
			c.fail(where, "the value of %q is %s, want %s", rest, found.Name(), want)
		}
	}
}

func restValueOf(v protoreflect.EnumValueDescriptor) string {
	return proto.GetExtension(v.Options(), ampersandv1.E_RestValue).(string)
}

// reverse reports every service, RPC, message, field, enum and enum value
// of the package that the walk of the spec did not reach.
func (c *coverage) reverse() {
	c.files.RangeFilesByPackage(protoPackage, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			if !c.services[sd.FullName()] {
				c.fail(fd.Path(), "service %s comes from no tag of the spec", sd.FullName())
			}
			for j := range sd.Methods().Len() {
				if md := sd.Methods().Get(j); !c.methods[md.FullName()] {
					c.fail(fd.Path(), "RPC %s comes from no operation of the spec", md.FullName())
				}
			}
		}
		c.reverseTypes(fd.Path(), fd.Messages(), fd.Enums())
		return true
	})
}

func (c *coverage) reverseTypes(file string, messages protoreflect.MessageDescriptors, enums protoreflect.EnumDescriptors) {
	for i := range messages.Len() {
		md := messages.Get(i)
		if md.IsMapEntry() {
			continue
		}
		if !c.messages[md.FullName()] {
			c.fail(file, "message %s comes from no schema of the spec", md.FullName())
		} else {
			for j := range md.Fields().Len() {
				if f := md.Fields().Get(j); !c.fields[f.FullName()] {
					c.fail(file, "field %s comes from no property or parameter of the spec", f.FullName())
				}
			}
		}
		c.reverseTypes(file, md.Messages(), md.Enums())
	}
	for i := range enums.Len() {
		ed := enums.Get(i)
		if !c.enums[ed.FullName()] {
			c.fail(file, "enum %s comes from no string enum of the spec", ed.FullName())
			continue
		}
		for j := range ed.Values().Len() {
			if v := ed.Values().Get(j); !c.values[v.FullName()] {
				c.fail(file, "enum value %s comes from no value of the spec", v.FullName())
			}
		}
	}
}
