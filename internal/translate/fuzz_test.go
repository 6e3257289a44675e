package translate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// allMethods are the bindings of every RPC of ampersand.v1, in a stable
// order.
var allMethods = func() []*Method {
	var out []*Method
	protoregistry.GlobalFiles.RangeFilesByPackage("ampersand.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				m, err := NewMethod(sd.Methods().Get(j))
				if err != nil {
					panic(err)
				}
				out = append(out, m)
			}
		}
		return true
	})
	slices.SortFunc(out, func(a, b *Method) int { return strings.Compare(string(a.desc.FullName()), string(b.desc.FullName())) })
	return out
}()

func TestEveryMethodBinds(t *testing.T) {
	if len(allMethods) != 82 {
		t.Errorf("%d methods, want the spec's 82", len(allMethods))
	}
}

// FuzzResponses translates arbitrary bodies as the answer of any method: no
// panic, a translated response is a valid message in both encodings, and
// the one-pass decoder agrees with the two-step path.
func FuzzResponses(f *testing.F) {
	for i := range allMethods {
		f.Add(uint16(i), []byte(`{}`))
		f.Add(uint16(i), []byte(`[{"id":"x","name":"n","createTime":"2024-01-01T00:00:00Z"}]`))
	}
	get := uint16(slices.IndexFunc(allMethods, func(m *Method) bool { return m.desc.Name() == "GetIntegration" }))
	addCorpusWith(f, "testdata/integrations/*.json", func(body []byte) { f.Add(get, body) })
	f.Fuzz(func(t *testing.T, index uint16, body []byte) {
		m := allMethods[int(index)%len(allMethods)]
		resp, err := m.NewResponse(body, "application/json", nil)
		if err != nil {
			return
		}
		if _, err := proto.Marshal(resp); err != nil {
			t.Fatalf("%s: the response does not marshal: %v", m.desc.FullName(), err)
		}
		if _, err := protojson.Marshal(resp); err != nil {
			t.Fatalf("%s: the response is not proto-JSON: %v", m.desc.FullName(), err)
		}
		checkSameAsTwoSteps(t, m, body)
	})
}

// FuzzRequests makes the REST call of arbitrary requests of any method: no
// panic, a path with no raw control character, a query and a body that
// parse; and for methods whose values all have one REST form, the body
// translates back into the fields it came from.
func FuzzRequests(f *testing.F) {
	for i, m := range allMethods {
		req := m.request.newMessage()
		populate(req, 0)
		data, err := proto.Marshal(req.Interface())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(i), data)
		f.Add(uint16(i), []byte{})
	}
	f.Fuzz(func(t *testing.T, index uint16, data []byte) {
		m := allMethods[int(index)%len(allMethods)]
		req := m.request.newMessage()
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, req.Interface()); err != nil {
			return
		}
		call, err := m.NewRequest(req.Interface())
		if err != nil {
			return
		}
		if strings.ContainsFunc(call.Path, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
			t.Fatalf("%s: raw character in the path %q", m.desc.FullName(), call.Path)
		}
		if call.Body != nil && !json.Valid(call.Body) {
			t.Fatalf("%s: the body is not JSON: %s", m.desc.FullName(), call.Body)
		}
		checkRoundTrip(t, m, req, call)
	})
}

// TestRequestsRoundTrip runs the round trip of FuzzRequests on every
// method, with every field set.
func TestRequestsRoundTrip(t *testing.T) {
	for _, m := range allMethods {
		t.Run(string(m.desc.Name()), func(t *testing.T) {
			req := m.request.newMessage()
			populate(req, 0)
			call, err := m.NewRequest(req.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if (m.bodyAll || m.bodyField != nil) && call.Body == nil {
				t.Error("no body")
			}
			checkRoundTrip(t, m, req, call)
		})
	}
}

// checkRoundTrip decodes the body of call as REST JSON into the message it
// came from and compares, when every value of that message has one REST
// form. It reports whether it compared.
func checkRoundTrip(t *testing.T, m *Method, req protoreflect.Message, call *Request) bool {
	t.Helper()
	if call.Body == nil || !roundTrips(m.desc.Input(), map[protoreflect.FullName]bool{}) {
		return false
	}
	want := m.request.newMessage()
	got := m.request.newMessage()
	var err error
	if m.bodyAll {
		proto.Merge(want.Interface(), req.Interface())
		for _, s := range m.segments {
			if s.field != nil {
				want.Clear(s.field)
			}
		}
		err = decodeBody(call.Body, m.request, got, nil)
	} else {
		if req.Has(m.bodyField.fd) {
			want.Set(m.bodyField.fd, req.Get(m.bodyField.fd))
		} else if m.bodyField.value.msg != nil {
			want.Mutable(m.bodyField.fd) // an unset body is sent as {}
		}
		err = decodeFieldBody(call.Body, m.bodyField, got, nil)
		if string(call.Body) == "null" {
			return false
		}
	}
	if err != nil {
		t.Fatalf("%s: the body does not translate back: %v\n%s", m.desc.FullName(), err, call.Body)
	}
	if !proto.Equal(want.Interface(), got.Interface()) {
		t.Fatalf("%s: the body translates back to another message:\n%v\n%v\n%s", m.desc.FullName(), protojson.Format(want.Interface()), protojson.Format(got.Interface()), call.Body)
	}
	return true
}

// roundTrips reports whether every message reachable from md has a REST
// form that reads back as the same message: no untagged oneof (an empty
// variant has no properties to tell it by), no google.protobuf.Value (a
// null Value reads back as unset).
func roundTrips(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return true
	}
	seen[md.FullName()] = true
	if md.FullName() == "google.protobuf.Value" || md.FullName() == "google.protobuf.Struct" {
		return false
	}
	pl, err := planFor(md)
	if err != nil || pl.untagged != nil {
		return false
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if fd.Kind() == protoreflect.MessageKind && !roundTrips(fd.Message(), seen) {
			return false
		}
	}
	return true
}

// populate sets every field of m (the first variant of each oneof), with
// values that have a REST form, to depth 8.
func populate(m protoreflect.Message, depth int) {
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		proto.Merge(m.Interface(), timestamppb.New(timestamppb.Now().AsTime().Truncate(1000)))
		return
	case "google.protobuf.Struct":
		s, _ := structpb.NewStruct(map[string]any{"a": "b", "n": 1.5})
		proto.Merge(m.Interface(), s)
		return
	case "google.protobuf.Value":
		proto.Merge(m.Interface(), structpb.NewStringValue("v"))
		return
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		od := fd.ContainingOneof()
		inOneof := od != nil && !od.IsSynthetic()
		if inOneof && od.Fields().Get(0) != fd || depth > 8 && !inOneof {
			continue // past depth 8, only what a oneof needs
		}
		switch {
		case fd.IsList():
			list := m.Mutable(fd).List()
			if fd.Kind() == protoreflect.MessageKind {
				populate(list.AppendMutable().Message(), depth+1)
			} else {
				list.Append(scalar(fd))
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			key := protoreflect.ValueOfString("key").MapKey()
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				populate(mp.Mutable(key).Message(), depth+1)
			} else {
				mp.Set(key, scalar(fd.MapValue()))
			}
		case fd.Kind() == protoreflect.MessageKind:
			populate(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, scalar(fd))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(string(fd.Name()) + "-é/?#%")
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(-7)
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(1 << 40)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(2.5)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(fd.Enum().Values().Get(fd.Enum().Values().Len() - 1).Number())
	}
	panic("no scalar of kind " + fd.Kind().String())
}
