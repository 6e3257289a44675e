package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/demo"
)

// sameJSON fails t unless appendJSON writes m as protojson does: the same
// JSON value (white space aside), or an error where protojson has one.
func sameJSON(t *testing.T, m proto.Message) {
	t.Helper()
	want, wantErr := protojson.Marshal(m)
	got, gotErr := appendJSON(nil, m)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("error %v, protojson's %v", gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON: %s", got)
	}
	var gotValue, wantValue any
	for _, x := range []struct {
		data []byte
		into *any
	}{{got, &gotValue}, {want, &wantValue}} {
		decoder := json.NewDecoder(bytes.NewReader(x.data))
		decoder.UseNumber()
		if err := decoder.Decode(x.into); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(gotValue, wantValue) {
		t.Fatalf("appendJSON wrote\n%s\nprotojson wrote\n%s", got, want)
	}
	// The same bytes too, white space aside (protojson adds some at
	// random, also where appendJSON hands it a message): the same order of
	// fields.
	var gotCompact, wantCompact bytes.Buffer
	if json.Compact(&gotCompact, got) != nil || json.Compact(&wantCompact, want) != nil || !bytes.Equal(gotCompact.Bytes(), wantCompact.Bytes()) {
		t.Fatalf("appendJSON wrote, compacted\n%s\nprotojson wrote, compacted\n%s", gotCompact.Bytes(), wantCompact.Bytes())
	}
	// It reads back as protojson's own output does (which is not always
	// the message: an empty google.protobuf.Value is written as null).
	back, wantBack := m.ProtoReflect().New().Interface(), m.ProtoReflect().New().Interface()
	err := protojson.Unmarshal(got, back)
	if wantErr := protojson.Unmarshal(want, wantBack); (err != nil) != (wantErr != nil) || !proto.Equal(back, wantBack) {
		t.Fatalf("%s does not read back as protojson's %s does: %v", got, want, err)
	}
}

func TestEncodeJSONMatchesProtojson(t *testing.T) {
	for _, body := range [][]byte{demo.Sized(1600), demo.Sized(200_000)} {
		integration, err := decodeIntegration(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, &ampersandv1.GetIntegrationResponse{Integration: integration})
	}
	sameJSON(t, &ampersandv1.GetIntegrationResponse{})

	// Every field of every message set, with each variant of each oneof in
	// turn: a field added to the schema is held to protojson too.
	for variant := range 2 {
		for _, zeroes := range []bool{false, true} {
			m := &ampersandv1.GetIntegrationResponse{}
			populate(m.ProtoReflect(), variant, zeroes)
			sameJSON(t, m)
		}
	}

	// Strings that need escaping, and timestamps of every precision.
	for _, s := range []string{"", "plain", "quote\" backslash\\ slash/", "\x00\x01\x1f\x7f\b\f\n\r\t", "é€😀\u2028\u2029", "<html>&amp;"} {
		sameJSON(t, &ampersandv1.Integration{Name: s})
	}
	for _, nanos := range []int32{0, 1, 10, 100_000, 1_000_000, 120_000_000, 999_999_999} {
		for _, secs := range []int64{-62135596800, 0, 1713810928, 253402300799} {
			sameJSON(t, &ampersandv1.Integration{CreateTime: &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}})
		}
	}
	// Errors where protojson has them.
	sameJSON(t, &ampersandv1.Integration{Name: "bad \xff UTF-8"})
	sameJSON(t, &ampersandv1.Integration{CreateTime: &timestamppb.Timestamp{Seconds: 253402300800}})
	sameJSON(t, &ampersandv1.Integration{CreateTime: &timestamppb.Timestamp{Nanos: -1}})
	// A type the plan does not cover goes to protojson whole.
	if jsonPlanFor((&ampersandv1.Problem{}).ProtoReflect().Descriptor(), reflect.TypeOf(&ampersandv1.Problem{})) != nil {
		t.Error("Problem holds a Struct, which the plan does not cover")
	}
	sameJSON(t, &ampersandv1.Problem{Title: "t"})
}

// populate sets every field of m, recursively: strings that need escaping,
// true and -7, the last value of each enum and an unknown one, two elements
// in each list, and the variant-th field of each oneof (modulo its size).
// With zeroes, the fields with presence are set to their zero values.
func populate(m protoreflect.Message, variant int, zeroes bool) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if oneof := fd.ContainingOneof(); oneof != nil && !oneof.IsSynthetic() {
			if oneof.Fields().Get(variant%oneof.Fields().Len()) != fd {
				continue
			}
		}
		if fd.IsList() {
			list := m.Mutable(fd).List()
			for j := range 2 {
				list.Append(value(m, fd, list, j, zeroes))
			}
			continue
		}
		m.Set(fd, value(m, fd, nil, 0, zeroes))
	}
}

func value(m protoreflect.Message, fd protoreflect.FieldDescriptor, list protoreflect.List, j int, zeroes bool) protoreflect.Value {
	zero := zeroes && fd.HasPresence() && fd.Kind() != protoreflect.MessageKind
	switch fd.Kind() {
	case protoreflect.StringKind:
		if zero {
			return protoreflect.ValueOfString("")
		}
		return protoreflect.ValueOfString(strings.Repeat("x\"\\\n\u00e9", j+1) + string(fd.Name()))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(!zero)
	case protoreflect.Int32Kind:
		if zero {
			return protoreflect.ValueOfInt32(0)
		}
		return protoreflect.ValueOfInt32(-7)
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		number := values.Get(values.Len() - 1).Number()
		if j == 1 {
			number = 99 // unknown: written as a number
		}
		return protoreflect.ValueOfEnum(number)
	case protoreflect.MessageKind:
		var child protoreflect.Message
		if list != nil {
			child = list.NewElement().Message()
		} else {
			child = m.NewField(fd).Message()
		}
		if fd.Message().FullName() == "google.protobuf.Timestamp" {
			child.Set(fd.Message().Fields().ByNumber(1), protoreflect.ValueOfInt64(1713810928))
			child.Set(fd.Message().Fields().ByNumber(2), protoreflect.ValueOfInt32(int32(456_000*(j+1))))
		} else {
			populate(child, j, zeroes)
		}
		return protoreflect.ValueOfMessage(child)
	default:
		panic("populate: add the kind " + fd.Kind().String() + " of " + string(fd.FullName()))
	}
}

// FuzzEncodeJSONMatchesProtojson holds appendJSON to protojson on every
// integration the decoder accepts.
func FuzzEncodeJSONMatchesProtojson(f *testing.F) {
	addCorpus(f, "../translate/testdata/integrations/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		integration, err := decodeIntegration(body, nil)
		if err != nil {
			return
		}
		sameJSON(t, &ampersandv1.GetIntegrationResponse{Integration: integration})
	})
}

func BenchmarkEncodeJSON(b *testing.B) {
	for _, size := range []int{1600, 1_000_000} {
		body := demo.Sized(size)
		integration, err := decodeIntegration(body, nil)
		if err != nil {
			b.Fatal(err)
		}
		m := &ampersandv1.GetIntegrationResponse{Integration: integration}
		benchmarkEncoders(b, fmt.Sprintf("%dKB", len(body)/1024), m, []encoder{
			{"plan", appendJSON},
			{"protojson", protojson.MarshalOptions{}.MarshalAppend},
		})
	}
}

// encoder is an encoder a benchmark compares.
type encoder struct {
	name string
	fn   func([]byte, proto.Message) ([]byte, error)
}

// benchmarkEncoders runs a benchmark named name/size for each encoder,
// encoding m into a buffer reused from one call to the next.
func benchmarkEncoders(b *testing.B, size string, m proto.Message, encoders []encoder) {
	for _, enc := range encoders {
		b.Run(enc.name+"/"+size, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				out, err := enc.fn(buf[:0], m)
				if err != nil {
					b.Fatal(err)
				}
				buf = out
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
