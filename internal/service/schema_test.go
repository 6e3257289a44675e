package service

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// schemaFile is the repository's record of the upstream schema.
const schemaFile = "../../openapi/get-integration.yaml"

type schema = map[string]any

func loadSchema(t *testing.T) schema {
	t.Helper()
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc schema
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// dig walks keys down a decoded YAML document.
func dig(t *testing.T, doc any, keys ...string) schema {
	t.Helper()
	for _, key := range keys {
		m, ok := doc.(schema)
		if !ok {
			t.Fatalf("schema: %q is not under an object", key)
		}
		doc = m[key]
	}
	m, ok := doc.(schema)
	if !ok {
		t.Fatalf("schema: %v is not an object", keys)
	}
	return m
}

// TestSchemaCoverage walks the Integration schema and the problem schemas
// of openapi/get-integration.yaml beside the proto messages: every property
// must have a field with the same proto-JSON name and a fitting type, and
// every field must stand for a property.
func TestSchemaCoverage(t *testing.T) {
	t.Parallel()
	doc := loadSchema(t)
	responses := dig(t, doc, "paths", "/projects/{projectIdOrName}/integrations/{integrationIdOrName}", "get", "responses")
	roots := []struct {
		name   string
		schema schema
		msg    protoreflect.MessageDescriptor
	}{
		{"200", dig(t, responses, "200", "content", "application/json", "schema"), (&ampersandv1.Integration{}).ProtoReflect().Descriptor()},
		{"404", dig(t, responses, "404", "content", "application/problem+json", "schema"), (&ampersandv1.Problem{}).ProtoReflect().Descriptor()},
		{"default", dig(t, responses, "default", "content", "application/problem+json", "schema"), (&ampersandv1.Problem{}).ProtoReflect().Descriptor()},
	}
	c := newCoverage()
	for _, root := range roots {
		c.object(root.name, root.schema, root.msg)
	}
	for _, problem := range c.problems {
		t.Error(problem)
	}
	for _, unused := range c.unusedFields() {
		t.Errorf("proto field %s stands for no schema property", unused)
	}
	t.Logf("walked %d schema properties", c.properties)
	if c.properties < 100 {
		t.Errorf("walked only %d properties: is the walk broken?", c.properties)
	}
}

// TestSchemaCoverageCatchesNewProperty checks that the coverage walk fails
// for a property the proto does not have.
func TestSchemaCoverageCatchesNewProperty(t *testing.T) {
	t.Parallel()
	doc := loadSchema(t)
	integration := dig(t, doc, "paths", "/projects/{projectIdOrName}/integrations/{integrationIdOrName}", "get", "responses", "200", "content", "application/json", "schema")
	backfill := dig(t, integration, "properties", "latestRevision", "properties", "content", "properties", "read", "properties", "objects", "items", "properties", "backfill", "properties", "defaultPeriod", "properties")
	backfill["weeks"] = schema{"type": "integer"}
	c := newCoverage()
	c.object("200", integration, (&ampersandv1.Integration{}).ProtoReflect().Descriptor())
	want := "200.latestRevision.content.read.objects[].backfill.defaultPeriod.weeks: no field with JSON name \"weeks\" in ampersand.v1.DefaultPeriod"
	if !slices.Contains(c.problems, want) {
		t.Errorf("problems = %q, want %q", c.problems, want)
	}
}

type coverage struct {
	problems   []string
	used       map[protoreflect.FullName]bool
	messages   map[protoreflect.FullName]protoreflect.MessageDescriptor
	properties int
}

func newCoverage() *coverage {
	return &coverage{used: map[protoreflect.FullName]bool{}, messages: map[protoreflect.FullName]protoreflect.MessageDescriptor{}}
}

func (c *coverage) fail(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// properties merges an object schema's properties with its allOf parts'.
func properties(s schema) schema {
	out := schema{}
	if all, ok := s["allOf"].([]any); ok {
		for _, part := range all {
			if p, ok := part.(schema); ok {
				for k, v := range properties(p) {
					out[k] = v
				}
			}
		}
	}
	if props, ok := s["properties"].(schema); ok {
		for k, v := range props {
			out[k] = v
		}
	}
	return out
}

func (c *coverage) object(path string, s schema, msg protoreflect.MessageDescriptor) {
	c.messages[msg.FullName()] = msg
	props := properties(s)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.properties++
		prop, _ := props[name].(schema)
		field := msg.Fields().ByJSONName(name)
		if field == nil {
			c.fail(path+"."+name, "no field with JSON name %q in %s", name, msg.FullName())
			continue
		}
		c.used[field.FullName()] = true
		c.value(path+"."+name, prop, field, field.IsList())
	}
}

// value checks that field (or, when list, each element of it) fits the
// schema s.
func (c *coverage) value(path string, s schema, field protoreflect.FieldDescriptor, list bool) {
	typ, _ := s["type"].(string)
	format, _ := s["format"].(string)
	_, isEnum := s["enum"]
	_, hasAdditional := s["additionalProperties"]
	wantList := typ == "array"
	if list != wantList {
		c.fail(path, "repeated is %v, the schema's type is %q", list, typ)
		return
	}
	messageName := func() protoreflect.FullName {
		if field.Message() == nil {
			return ""
		}
		return field.Message().FullName()
	}
	switch {
	case typ == "array":
		items, _ := s["items"].(schema)
		c.value(path+"[]", items, field, false)
	case typ == "string" && format == "date-time":
		if messageName() != "google.protobuf.Timestamp" {
			c.fail(path, "a date-time must be a google.protobuf.Timestamp, is %s", field.Kind())
		}
	case typ == "string" && isEnum:
		if field.Enum() == nil {
			c.fail(path, "a string enum must be a proto enum, is %s", field.Kind())
		}
	case typ == "string":
		if field.Kind() != protoreflect.StringKind {
			c.fail(path, "a string must be a string, is %s", field.Kind())
		}
	case typ == "boolean":
		if field.Kind() != protoreflect.BoolKind || (!list && !field.HasPresence()) {
			c.fail(path, "a boolean must be an optional bool")
		}
	case typ == "integer":
		if field.Kind() != protoreflect.Int32Kind || (!list && !field.HasPresence()) {
			c.fail(path, "an integer must be an optional int32")
		}
	case s["oneOf"] != nil:
		c.oneOf(path, s["oneOf"].([]any), field.Message())
	case typ == "object" && hasAdditional && len(properties(s)) == 0:
		if messageName() != "google.protobuf.Struct" {
			c.fail(path, "a free-form object must be a google.protobuf.Struct")
		}
	case typ == "" && len(properties(s)) == 0:
		if messageName() != "google.protobuf.Value" {
			c.fail(path, "a value of any type must be a google.protobuf.Value")
		}
	default: // an object with properties
		if field.Message() == nil {
			c.fail(path, "an object must be a message, is %s", field.Kind())
			return
		}
		c.object(path, s, field.Message())
	}
}

// oneOf checks the alternatives of a oneOf against the members of the
// message's one oneof, in order.
func (c *coverage) oneOf(path string, alternatives []any, msg protoreflect.MessageDescriptor) {
	if msg == nil || msg.Oneofs().Len() != 1 || msg.Oneofs().Get(0).Fields().Len() != len(alternatives) {
		c.fail(path, "a oneOf of %d alternatives must be a message with one oneof of as many fields", len(alternatives))
		return
	}
	c.messages[msg.FullName()] = msg
	members := msg.Oneofs().Get(0).Fields()
	for i, alternative := range alternatives {
		member := members.Get(i)
		c.used[member.FullName()] = true
		alt, _ := alternative.(schema)
		c.object(fmt.Sprintf("%s<%s>", path, member.JSONName()), alt, member.Message())
	}
}

func (c *coverage) unusedFields() []string {
	var unused []string
	for _, msg := range c.messages {
		for i := range msg.Fields().Len() {
			if field := msg.Fields().Get(i); !c.used[field.FullName()] {
				unused = append(unused, string(field.FullName()))
			}
		}
	}
	sort.Strings(unused)
	return unused
}

// TestGoldenCorpusCoversEveryField checks that the golden corpus sets every
// field of every message reachable from Integration at least once, both
// field variants included: a field the corpus never exercises fails it.
func TestGoldenCorpusCoversEveryField(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("../translate/testdata/integrations/*.json")
	if err != nil {
		t.Fatal(err)
	}
	set := map[protoreflect.FullName]bool{}
	for _, input := range inputs {
		if strings.HasSuffix(input, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(input)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err := translateBody(body)
		if err != nil {
			continue
		}
		markSet(resp.ProtoReflect(), set)
	}
	all := map[protoreflect.FullName]bool{}
	allFields((&ampersandv1.Integration{}).ProtoReflect().Descriptor(), all)
	var missing []string
	for name := range all {
		if !set[name] {
			missing = append(missing, string(name))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no corpus document sets %q", missing)
	}
}

func markSet(msg protoreflect.Message, set map[protoreflect.FullName]bool) {
	msg.Range(func(field protoreflect.FieldDescriptor, value protoreflect.Value) bool {
		set[field.FullName()] = true
		switch {
		case field.IsList() && field.Message() != nil:
			for i := range value.List().Len() {
				markSet(value.List().Get(i).Message(), set)
			}
		case field.Message() != nil && !field.IsMap():
			markSet(value.Message(), set)
		}
		return true
	})
}

func allFields(msg protoreflect.MessageDescriptor, out map[protoreflect.FullName]bool) {
	if strings.HasPrefix(string(msg.FullName()), "google.protobuf.") {
		return
	}
	for i := range msg.Fields().Len() {
		field := msg.Fields().Get(i)
		if out[field.FullName()] {
			continue
		}
		out[field.FullName()] = true
		if field.Message() != nil {
			allFields(field.Message(), out)
		}
	}
}
