package translate

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// kindsPlan is the plan of a message with the kinds of field the API's
// responses do not have today (64-bit integers, floats, a map of doubles),
// for the transcoder's tests.
func kindsPlan(t *testing.T) *plan {
	t.Helper()
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(name)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	const opt, rep = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL, descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("transcodekinds/kinds.proto"),
		Package: proto.String("transcodekinds"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Kinds"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("big", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64, opt, ""),
				field("f", 2, descriptorpb.FieldDescriptorProto_TYPE_FLOAT, opt, ""),
				field("d", 3, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt, ""),
				field("bigs", 4, descriptorpb.FieldDescriptorProto_TYPE_INT64, rep, ""),
				field("ratios", 5, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, rep, ".transcodekinds.Kinds.RatiosEntry"),
				field("b", 8, descriptorpb.FieldDescriptorProto_TYPE_BOOL, opt, ""),
				field("i", 9, descriptorpb.FieldDescriptorProto_TYPE_INT32, opt, ""),
				field("floats", 10, descriptorpb.FieldDescriptorProto_TYPE_FLOAT, rep, ""),
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name: proto.String("RatiosEntry"),
				Field: []*descriptorpb.FieldDescriptorProto{
					field("key", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, ""),
					field("value", 2, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt, ""),
				},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := planFor(fd.Messages().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	if !transcodable(pl, true, map[*plan]bool{}) {
		t.Fatal("the kinds message is not transcodable")
	}
	return pl
}

// TestTranscodeOtherKinds holds both of the transcoder's outputs to the
// decoder on the kinds of field the API's responses do not have today: the
// numbers, and Structs, which only requests hold (CustomAuthConnectParams
// has one, customAuth, and a map of messages, providerMetadata).
func TestTranscodeOtherKinds(t *testing.T) {
	kinds := kindsPlan(t)
	params, err := planFor((&ampersandv1.CustomAuthConnectParams{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pl         *plan
		body       string
		wire, json bool // whether each is written
	}{
		{kinds, `{"big":9007199254740993,"f":1.5,"d":-2.25e-3,"bigs":[1,-2,3],"ratios":{"a":0.5,"b":2},"b":true,"i":-7}`, true, true},
		{kinds, `{"big":-9223372036854775808,"f":0.1,"d":0.1,"floats":[0.1,1e30,-0],"b":false,"i":0}`, true, true},
		{kinds, `{"ratios":{"a":1,"a":2}}`, true, false},
		{kinds, `{"i":2147483648}`, false, false},
		{kinds, `{"big":1.5}`, false, false},
		{kinds, `{"d":1e400}`, false, false},
		{params, `{"customAuth":{"x":[1,"y",true,null,{"z":{}}],"k\"q":"caf\u00e9\n","n":-1.5e-7}}`, true, true},
		{params, `{"customAuth":{"a":1,"a":2}}`, true, false},
		{params, `{"customAuth":{"a":{"b":1,"b":2}}}`, true, false},
		{params, `{"customAuth":{"a":[{"b":1},{"b":2}]},"customAuth":null}`, false, false},
		{params, `{"customAuth":{"a":1e400}}`, false, false},
		{params, `{"customAuth":null,"sessionId":"s"}`, true, true},
	} {
		m := &Method{response: c.pl}
		want := c.pl.newMessage()
		err := decodeBody([]byte(c.body), c.pl, want, nil)
		wire, wireOK := m.transcode([]byte(c.body), false)
		js, jsonOK := m.transcode([]byte(c.body), true)
		if wireOK != c.wire || jsonOK != c.json {
			t.Errorf("%s: written %v in binary, %v in JSON, want %v, %v (decoder: %v)", c.body, wireOK, jsonOK, c.wire, c.json, err)
			continue
		}
		if (wireOK || jsonOK) && err != nil {
			t.Errorf("%s: transcoded a body the decoder refuses: %v", c.body, err)
			continue
		}
		if wireOK {
			got := c.pl.newMessage().Interface()
			if err := proto.Unmarshal(wire, got); err != nil || !proto.Equal(got, want.Interface()) {
				t.Errorf("%s: binary %v\n%s\nwant\n%s", c.body, err, prototext.Format(got), prototext.Format(want.Interface()))
			}
		}
		if jsonOK {
			got := c.pl.newMessage().Interface()
			if err := protojson.Unmarshal(js, got); err != nil || !proto.Equal(got, want.Interface()) {
				t.Errorf("%s: JSON %s: %v\n%s\nwant\n%s", c.body, js, err, prototext.Format(got), prototext.Format(want.Interface()))
			}
		}
	}
}

// TestTranscodeOtherWellKnownTypes: the decoder reads the well-known types
// other than Timestamp, Struct and Value as plain objects, which the
// binary encoding writes as they are, and proto JSON in forms of their own
// ("5s", "x"): TranscodeJSON leaves a response holding one to the decoder.
func TestTranscodeOtherWellKnownTypes(t *testing.T) {
	const opt = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	field := func(name string, n int32, typ string) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n), Type: msg.Enum(), Label: opt.Enum(), TypeName: proto.String(typ), JsonName: proto.String(name)}
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("transcodewkt/wkt.proto"), Package: proto.String("transcodewkt"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/duration.proto", "google/protobuf/wrappers.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("W"), Field: []*descriptorpb.FieldDescriptorProto{
			field("d", 1, ".google.protobuf.Duration"), field("s", 2, ".google.protobuf.StringValue")}}},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := planFor(fd.Messages().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	if transcodable(pl, true, map[*plan]bool{}) {
		t.Error("TranscodeJSON covers a Duration and a StringValue")
	}
	if !transcodable(pl, false, map[*plan]bool{}) {
		t.Fatal("Transcode does not cover a Duration and a StringValue")
	}
	// What the decoder makes of it (written by hand: the decoder fills a
	// generated type's fields in place, which a dynamic parent does not
	// hold).
	want := pl.newMessage().Interface()
	if err := prototext.Unmarshal([]byte(`d:{seconds:5} s:{value:"x"}`), want); err != nil {
		t.Fatal(err)
	}
	wire, ok := (&Method{response: pl}).transcode([]byte(`{"d":{"seconds":5},"s":{"value":"x"}}`), false)
	got := pl.newMessage().Interface()
	if !ok || proto.Unmarshal(wire, got) != nil || !proto.Equal(got, want) {
		t.Errorf("binary: %v, %s; want %s", ok, prototext.Format(got), prototext.Format(want))
	}
}
