package codec

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/demo"
)

// sameWire fails t unless appendWire writes m as proto.Marshal does (with
// map entries in key order, as the encoder's fallback writes them): the
// same bytes, or an error where proto.Marshal has one.
func sameWire(t *testing.T, m proto.Message) {
	t.Helper()
	want, wantErr := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	got, gotErr := appendWire([]byte("prefix"), m)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, proto.Marshal's %v", m.ProtoReflect().Descriptor().FullName(), gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	got, ok := bytes.CutPrefix(got, []byte("prefix"))
	if !ok {
		t.Fatal("dst was not appended to")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes %x, proto.Marshal's %d %x", m.ProtoReflect().Descriptor().FullName(), len(got), got, len(want), want)
	}
}

// schemaMessages returns a new message of every type of the schema.
func schemaMessages() []proto.Message {
	return linkedMessages(func(md protoreflect.MessageDescriptor) bool {
		return md.ParentFile().Package() == "ampersand.v1"
	})
}

// linkedMessages returns a new message of every type linked into the test
// that keep accepts.
func linkedMessages(keep func(protoreflect.MessageDescriptor) bool) []proto.Message {
	var out []proto.Message
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if keep(mt.Descriptor()) {
			out = append(out, mt.New().Interface())
		}
		return true
	})
	// Sorted, so that every process of a fuzz run picks the same type for
	// the same number.
	slices.SortFunc(out, func(a, b proto.Message) int {
		return strings.Compare(string(a.ProtoReflect().Descriptor().FullName()), string(b.ProtoReflect().Descriptor().FullName()))
	})
	return out
}

// TestWireMatchesProto holds appendWire to proto.Marshal on every message
// type of the schema, with every field set (each oneof member in turn, and
// the zero values that presence keeps), and on integrations the decoder
// made.
func TestWireMatchesProto(t *testing.T) {
	messages := schemaMessages()
	if len(messages) < 100 {
		t.Fatalf("%d message types in the schema", len(messages))
	}
	planned := 0
	for _, m := range messages {
		sameWire(t, m)
		if !wirePlanFor(m.ProtoReflect().Descriptor(), reflect.TypeOf(m)).fallback {
			planned++
		}
		for _, full := range filled(m, 3) {
			sameWire(t, full)
		}
	}
	if planned < len(messages)*3/4 {
		t.Errorf("the plan covers %d of %d message types", planned, len(messages))
	}
	for _, body := range [][]byte{demo.Sized(1600), demo.Sized(300_000)} {
		resp, err := translateBody(body)
		if err != nil {
			t.Fatal(err)
		}
		sameWire(t, resp)
	}
	// Errors and edge values as proto.Marshal has them.
	sameWire(t, &ampersandv1.Integration{Name: "bad \xff UTF-8"})
	sameWire(t, &ampersandv1.Integration{Name: "é€😀", Id: string(make([]byte, 300))})
}

// TestEncodersOnEveryLinkedType holds both encoders to proto.Marshal and
// protojson on every message type linked into the test that is not the
// schema's (descriptor.proto, the well-known types, health, reflection,
// status, OpenTelemetry's): proto2, required fields, extension ranges,
// scalar oneofs, fields numbered after a oneof, every scalar kind.
func TestEncodersOnEveryLinkedType(t *testing.T) {
	others := linkedMessages(func(md protoreflect.MessageDescriptor) bool {
		return md.ParentFile().Package() != "ampersand.v1"
	})
	if len(others) < 50 {
		t.Fatalf("%d other message types linked", len(others))
	}
	for _, m := range others {
		sameWire(t, m)
		sameJSON(t, m)
		for _, full := range filled(m, 6) {
			sameWire(t, full)
			sameJSON(t, full)
		}
	}
}

// TestEncodersOnNils: a typed nil message, a oneof holding a nil message
// and a list holding a nil element are written as proto.Marshal and
// protojson write them.
func TestEncodersOnNils(t *testing.T) {
	var none *ampersandv1.GetIntegrationResponse
	if got, err := appendWire(nil, none); err != nil || len(got) != 0 {
		t.Errorf("typed nil: %x, %v", got, err)
	}
	if got, err := appendJSON(nil, none); err != nil || string(got) != "{}" {
		t.Errorf("typed nil as JSON: %s, %v", got, err)
	}
	field := &ampersandv1.IntegrationField{Field: &ampersandv1.IntegrationField_Existent{}}
	objects := &ampersandv1.ReadIntegration{Objects: []*ampersandv1.IntegrationObject{nil, {ObjectName: "x", RequiredFields: []*ampersandv1.IntegrationField{field, nil}}}}
	sameWire(t, field)
	sameWire(t, objects)
	sameJSON(t, field)
	sameJSON(t, objects)
}

// filled returns messages of m's type made by fill, with each of variants
// variants, with and without the zero values that presence keeps.
func filled(m proto.Message, variants int) []proto.Message {
	var out []proto.Message
	for variant := range variants {
		for _, zeroes := range []bool{false, true} {
			full := m.ProtoReflect().New()
			fill(full, variant, zeroes, 0)
			out = append(out, full.Interface())
		}
	}
	return out
}

// fill sets every field of m, recursively to a depth of 3: values far from
// zero (negative, large, -0.0 and NaN floats), two elements in each list,
// two entries in each map, and the variant-th member of each oneof. With
// zeroes, the fields with presence are set to their zero values.
func fill(m protoreflect.Message, variant int, zeroes bool, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if oneof := fd.ContainingOneof(); oneof != nil && !oneof.IsSynthetic() {
			if oneof.Fields().Get(variant%oneof.Fields().Len()) != fd {
				continue
			}
		}
		if (fd.Message() != nil && depth >= 3) || fd.Kind() == protoreflect.GroupKind {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for j := range 2 {
				key := fd.MapKey().Default()
				if fd.MapKey().Kind() == protoreflect.StringKind {
					key = protoreflect.ValueOfString(fmt.Sprintf("key%d", j))
				}
				var v protoreflect.Value
				if fd.MapValue().Message() != nil {
					child := mp.NewValue()
					fill(child.Message(), j, zeroes, depth+1)
					v = child
				} else {
					v = scalar(fd.MapValue(), j, false)
				}
				mp.Set(key.MapKey(), v)
			}
		case fd.IsList():
			list := m.Mutable(fd).List()
			for j := range 2 {
				if fd.Message() != nil {
					child := list.NewElement()
					fill(child.Message(), j, zeroes, depth+1)
					list.Append(child)
				} else {
					list.Append(scalar(fd, j, false))
				}
			}
		case fd.Message() != nil:
			child := m.NewField(fd)
			fill(child.Message(), variant, zeroes, depth+1)
			m.Set(fd, child)
		default:
			m.Set(fd, scalar(fd, variant, zeroes && fd.HasPresence()))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor, j int, zero bool) protoreflect.Value {
	if zero {
		if fd.Kind() == protoreflect.EnumKind {
			return protoreflect.ValueOfEnum(0)
		}
		return fd.Default()
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("%s é %d", fd.Name(), j))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte{0, 1, byte(j)})
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		if j == 1 {
			return protoreflect.ValueOfEnum(-3) // unknown, negative
		}
		return protoreflect.ValueOfEnum(values.Get(values.Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(-7 - 1000*j))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(-1 << (40 + j))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(math.MaxUint32 - uint32(j))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(math.MaxUint64 - uint64(j))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32([]float32{float32(math.Copysign(0, -1)), float32(math.NaN()), 1.5}[j%3])
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64([]float64{math.Copysign(0, -1), math.Inf(1), -2.25}[j%3])
	}
	panic("fill: add the kind " + fd.Kind().String())
}

// FuzzWireMatchesProto holds appendWire to proto.Marshal on whatever
// proto.Unmarshal makes of any bytes, as any message type of the schema:
// unknown fields, repeated and out-of-order fields included.
func FuzzWireMatchesProto(f *testing.F) {
	messages := schemaMessages()
	for i, m := range messages {
		full := m.ProtoReflect().New()
		fill(full, i, false, 0)
		seed, err := proto.Marshal(full.Interface())
		if err == nil {
			f.Add(uint16(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, pick uint16, data []byte) {
		m := messages[int(pick)%len(messages)].ProtoReflect().New().Interface()
		if err := proto.Unmarshal(data, m); err != nil {
			return
		}
		sameWire(t, m)
	})
}

// BenchmarkWire encodes the responses of BenchmarkEncodeJSON in
// protobuf's binary format, with the plan (the proto codec's) and with
// proto.Marshal.
func BenchmarkWire(b *testing.B) {
	for _, size := range []int{1600, 1_000_000} {
		resp, err := translateBody(demo.Sized(size))
		if err != nil {
			b.Fatal(err)
		}
		benchmarkEncoders(b, fmt.Sprintf("%dKB", size/1000), resp, []encoder{
			{"plan", appendWire},
			{"proto.Marshal", proto.MarshalOptions{}.MarshalAppend},
		})
	}
}

// TestEncodeJSONEveryType holds appendJSON to protojson on every message
// type of the schema, filled as for TestWireMatchesProto.
func TestEncodeJSONEveryType(t *testing.T) {
	planned := 0
	for _, m := range schemaMessages() {
		sameJSON(t, m)
		if jsonPlanFor(m.ProtoReflect().Descriptor(), reflect.TypeOf(m)) != nil {
			planned++
		}
		for _, full := range filled(m, 3) {
			sameJSON(t, full)
		}
	}
	if planned < 200 {
		t.Errorf("the JSON plan covers %d message types", planned)
	}
}

// FuzzEncodeJSONEveryType holds appendJSON to protojson on whatever
// proto.Unmarshal makes of any bytes, as any message type of the schema.
func FuzzEncodeJSONEveryType(f *testing.F) {
	messages := schemaMessages()
	for i, m := range messages {
		full := m.ProtoReflect().New()
		fill(full, i, false, 0)
		if seed, err := proto.Marshal(full.Interface()); err == nil {
			f.Add(uint16(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, pick uint16, data []byte) {
		m := messages[int(pick)%len(messages)].ProtoReflect().New().Interface()
		// protojson writes no unknown fields.
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
			return
		}
		sameJSON(t, m)
	})
}
