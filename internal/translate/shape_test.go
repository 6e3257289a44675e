package translate

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// shapeBodies are bodies whose lists and maps hold many objects of
// untagged oneofs: most of them alike, and then one that differs from them
// in one way.
func shapeBodies() []irregularBody {
	const integ = "GetIntegration"
	const inst = "GetInstallation"
	rf := func(objects ...string) string {
		return `{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[` + strings.Join(objects, ",") + `]}]}}}}`
	}
	defaults := func(values ...string) string { // selectedValueDefaults of values
		var b strings.Builder
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"f` + strconv.Itoa(i) + `":` + v)
		}
		return `{"config":{"content":{"read":{"objects":{"a":{"selectedValueDefaults":{` + b.String() + `}}}}}}}`
	}
	const a = `{"fieldName":"a","mapToDisplayName":"d","mapToName":"m"}`
	const b = `{"default":"x","mapToDisplayName":"d","mapToName":"m","prompt":"p"}`
	const c = `{"fieldName":"f"}`
	var bodies []irregularBody
	for _, x := range []string{
		`{"fieldName":"b","mapToDisplayName":"e","mapToName":"n"}`,
		`{"fieldName":"","mapToDisplayName":"","mapToName":""}`,
		`{"fieldName":1,"mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":null,"mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":"a","mapToDisplayName":null,"mapToName":"m"}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":null}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m","prompt":"p"}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m","x":1}`,
		`{"fieldName":"a","mapToDisplayName":"d"}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m","mapToName":"n"}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m","fieldName":"b"}`,
		`{"mapToName":"m","fieldName":"a","mapToDisplayName":"d"}`,
		`{"fieldName":"a", "mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName" :"a","mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName": "a","mapToDisplayName": 5,"mapToName":"m"}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m" }`,
		`{"field\u004eame":"a","mapToDisplayName":"d","mapToName":"m"}`,
		`{"FieldName":"a","mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":"a\"b\u00e9","mapToDisplayName":"d\\n","mapToName":"m"}`,
		`{"fieldName":"a` + "\x01" + `","mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":"a` + "\xff" + `","mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":{"x":1},"mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":["a"],"mapToDisplayName":"d","mapToName":"m"}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m",}`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m"`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName"`,
		`{"fieldName":"a","mapToDisplayName":"d","mapToName":"m"}}`,
		`{}`,
		b, c,
	} {
		bodies = append(bodies,
			irregularBody{integ, rf(a, a, x, a)},
			irregularBody{integ, rf(a, a, x)},
			irregularBody{integ, rf(c, x, c, x, a, x)})
	}
	// Shapes that start alike, in turns.
	bodies = append(bodies, irregularBody{integ, rf(c, a, c, a, b, c, b, a, a, b, c)})
	// More shapes than a transcoder remembers, twice over.
	var many []string
	for _, first := range []string{"fieldName", "mapToDisplayName", "mapToName", "default", "prompt"} {
		for _, second := range []string{"fieldName", "mapToDisplayName", "mapToName", "default", "prompt"} {
			if first != second {
				many = append(many, `{"`+first+`":"1","`+second+`":"2"}`)
			}
		}
	}
	bodies = append(bodies, irregularBody{integ, rf(append(many, many...)...)})
	// Plain messages, with a property no field is for.
	const list = "ListIntegrations"
	const p = `{"id":"a","extra":1,"name":"n"}`
	for _, x := range []string{
		`{"id":"b","extra":{"x":[1,"y"]},"name":"m"}`,
		`{"id":"a","Extra":1,"name":"n"}`,
		`{"id":"a","extra":1,"Name":"n"}`,
		`{"ID":"a","extra":1,"name":"n"}`,
		`{"id":"a","extra":1,"name":null}`,
		`{"id":"a","extra":1,"name":5}`,
		`{"id":"a","extra":1,"name":"n","id":"b"}`,
		`{"id":"a","extra":1}`,
		`{"id":"a","ex\u0074ra":1,"name":"n"}`,
		`{"id":"a","extra":1,"name":"n","latestRevision":{"id":"r"}}`,
	} {
		bodies = append(bodies, irregularBody{list, `[` + p + `,` + p + `,` + x + `,` + p + `]`})
	}
	// A variant told apart by its required property's type.
	for _, x := range []string{`5`, `true`, `null`, `-1.5`, `"5"`, `{"x":1}`, `[1]`} {
		bodies = append(bodies,
			irregularBody{inst, defaults(`{"value":"x"}`, `{"value":"y"}`, `{"value":`+x+`}`, `{"value":"z"}`)},
			irregularBody{inst, defaults(`{"value":1}`, `{"value":2}`, `{"value":`+x+`}`, `{"value":3}`)},
			irregularBody{inst, defaults(`{"value":"x","applyOnUpdate":"always"}`, `{"value":"y","applyOnUpdate":"never"}`, `{"value":`+x+`,"applyOnUpdate":"always"}`)})
	}
	return bodies
}

// TestTranscodeShapes holds the transcoder to the decoder on bodies of
// objects mostly alike, and holds a transcoder that remembers shapes, from
// these bodies and the others of the tests, to the bytes of one that
// remembers none.
func TestTranscodeShapes(t *testing.T) {
	bodies := append(shapeBodies(), irregularBodies()...)
	for _, m := range allMethods {
		body := restBody(t, m)
		if inner, ok := bytes.CutPrefix(body, []byte("[")); ok {
			inner = bytes.TrimSuffix(inner, []byte("]"))
			body = slices.Concat([]byte("["), inner, []byte(","), inner, []byte(","), inner, []byte("]"))
		}
		bodies = append(bodies, irregularBody{string(m.desc.Name()), string(body)})
	}
	for i, c := range bodies {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			checkTranscode(t, methodNamed(t, c.method), []byte(c.body))
		})
	}
	learned := new(transcoder)
	for range 2 { // the second time round, with every shape met
		for i, c := range bodies {
			m, body := methodNamed(t, c.method), []byte(c.body)
			if !m.transcodes(body, "application/json") {
				continue
			}
			for _, json := range []bool{false, true} {
				want, wantOK := m.transcodeWith(&transcoder{shapeMisses: maxShapeMisses}, body, json)
				got, ok := m.transcodeWith(learned, body, json)
				learned.reset()
				if ok != wantOK || !bytes.Equal(got, want) {
					t.Fatalf("body %d (json %v): with shapes %v %q, without %v %q", i, json, ok, got, wantOK, want)
				}
			}
		}
	}
}

// TestTranscodeShapesTaken: of a list of objects alike, only the first is
// read the long way; the others take its shape.
func TestTranscodeShapesTaken(t *testing.T) {
	const a = `{"fieldName":"a","mapToDisplayName":"d","mapToName":"m"}`
	misses := func(n int, json bool) int {
		body := []byte(`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[` + strings.Repeat(a+",", n-1) + a + `]}]}}}}`)
		checkTranscode(t, getIntegration, body)
		tr := new(transcoder)
		if _, ok := getIntegration.transcodeWith(tr, body, json); !ok {
			t.Fatal("not transcoded")
		}
		return tr.shapeMisses
	}
	for _, json := range []bool{false, true} {
		if one, ten := misses(1, json), misses(10, json); one != ten {
			t.Errorf("json %v: %d objects read the long way of a body with 1 field, %d with 10", json, one, ten)
		}
	}
}

// freshID gives p, a copy of a plan made to differ from it, an id of its
// own, so that no shape of the other applies to it.
func freshID(p *plan) {
	plansMu.Lock()
	defer plansMu.Unlock()
	p.id = planCount
	planCount++
}

// TestTranscodeShapeTypes: an object that has a shape's properties, but
// one of a required property's value of another JSON type, may hold
// another variant, and is read the long way. Here the variants are tried in
// the other order, so that a mapping, which requires mapToName, comes
// first: {"fieldName":"a","mapToName":null} holds an existent field, and
// {"fieldName":"a","mapToName":"m"} a mapping.
func TestTranscodeShapeTypes(t *testing.T) {
	field, err := planFor((&ampersandv1.IntegrationField{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	reordered := *field
	union := *field.untagged
	union.variants = slices.Clone(union.variants)
	slices.Reverse(union.variants)
	reordered.untagged = &union
	freshID(&reordered)
	m := &Method{response: &reordered}
	tr := new(transcoder)
	for _, json := range []bool{false, true} {
		for _, body := range []string{
			`{"fieldName":"a","mapToName":null}`,
			`{"fieldName":"a","mapToName":"m"}`,
			`{"fieldName":"a","mapToName":null}`,
		} {
			want := reordered.newMessage()
			if err := decodeBody([]byte(body), &reordered, want, nil); err != nil {
				t.Fatal(err)
			}
			out, ok := m.transcodeWith(tr, []byte(body), json)
			tr.reset()
			got := reordered.newMessage().Interface()
			unmarshal := proto.Unmarshal
			if json {
				unmarshal = protojson.Unmarshal
			}
			if !ok || unmarshal(out, got) != nil || !proto.Equal(got, want.Interface()) {
				t.Errorf("%s (json %v): %v %q", body, json, ok, out)
			}
		}
		if reordered.id >= len(tr.shapes) || tr.shapes[reordered.id].n == 0 {
			t.Errorf("json %v: no shape remembered", json)
		}
	}
}

// TestTranscodeShapeBounds: a shape keeps no long name of a property
// skipped, and a transcoder drops its notes of a huge object's properties.
func TestTranscodeShapeBounds(t *testing.T) {
	integration, err := planFor((&ampersandv1.Integration{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	long := `{"id":"a","` + strings.Repeat("x", maxSkippedName) + `":1,"name":"n"}`
	body := []byte(`[` + long + `,` + long + `]`)
	checkTranscode(t, methodNamed(t, "ListIntegrations"), body)
	tr := new(transcoder)
	if _, ok := methodNamed(t, "ListIntegrations").transcodeWith(tr, body, false); !ok {
		t.Fatal("not transcoded")
	}
	if integration.id < len(tr.shapes) && tr.shapes[integration.id].n != 0 {
		t.Error("remembered a shape with a long name")
	}

	var b strings.Builder
	b.WriteString(`{"id":"a"`)
	for i := range maxPooledTrail {
		b.WriteString(`,"k` + strconv.Itoa(i) + `":0`)
	}
	b.WriteString(`}`)
	tr = new(transcoder)
	if _, ok := getIntegration.transcodeWith(tr, []byte(b.String()), false); !ok {
		t.Fatal("not transcoded")
	}
	tr.reset()
	if cap(tr.trail) > maxPooledTrail {
		t.Errorf("kept notes of %d properties", cap(tr.trail))
	}
}
