package codec

import (
	"encoding/base64"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// appendJSON appends m's proto3 JSON, as protojson.Marshal with its default
// options writes it (but with no white space), to dst.
//
// protojson walks every message through protoreflect's Range, which boxes
// each value, and sorts the fields of every message it writes; on a 1.6 MB
// integration that cost about 50 ms of CPU, most of a Connect+JSON call.
// This encoder follows a plan made once per message type: the fields in
// declaration order (the order protojson writes them in) with their names
// already quoted. A message type with a field the plan does not cover (a
// float, a map, a well-known type other than Timestamp) is handed whole to
// protojson. FuzzEncodeJSONMatchesProtojson and the fully populated
// messages of TestEncodeJSONMatchesProtojson hold the two to the same JSON.
func appendJSON(dst []byte, m proto.Message) ([]byte, error) {
	msg := m.ProtoReflect()
	plan := jsonPlanFor(msg.Descriptor())
	if plan == nil {
		return protojson.MarshalOptions{}.MarshalAppend(dst, m)
	}
	return plan.append(dst, msg)
}

// jsonPlan is how one message type is written.
type jsonPlan struct {
	fields []jsonField
}

type jsonField struct {
	fd   protoreflect.FieldDescriptor
	name string // `"jsonName":`
	kind jsonKind
	msg  *jsonPlan // for kind jsonMessage
}

type jsonKind uint8

const (
	jsonString jsonKind = iota
	jsonBool
	jsonInt32
	jsonUint32
	jsonInt64  // quoted, as proto3 JSON writes 64-bit integers
	jsonUint64 // quoted
	jsonBytes
	jsonEnum
	jsonTimestamp
	jsonMessage
)

// jsonPlans caches a plan, or nil for a type protojson must write, by
// message full name.
var jsonPlans sync.Map

func jsonPlanFor(md protoreflect.MessageDescriptor) *jsonPlan {
	if plan, ok := jsonPlans.Load(md.FullName()); ok {
		return plan.(*jsonPlan)
	}
	plan := buildJSONPlan(md, map[protoreflect.FullName]*jsonPlan{})
	jsonPlans.Store(md.FullName(), plan)
	return plan
}

// buildJSONPlan makes md's plan, or returns nil if md or a message it holds
// has a field the plan cannot write. building holds the plans being made,
// for recursive types.
func buildJSONPlan(md protoreflect.MessageDescriptor, building map[protoreflect.FullName]*jsonPlan) *jsonPlan {
	if plan, ok := building[md.FullName()]; ok {
		return plan
	}
	if md.FullName().Parent() == "google.protobuf" || md.ExtensionRanges().Len() > 0 {
		return nil // well-known types have JSON forms of their own
	}
	plan := &jsonPlan{}
	building[md.FullName()] = plan
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.IsMap() {
			return nil
		}
		f := jsonField{fd: fd, name: strconv.Quote(fd.JSONName()) + ":"}
		switch fd.Kind() {
		case protoreflect.StringKind:
			f.kind = jsonString
		case protoreflect.BoolKind:
			f.kind = jsonBool
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			f.kind = jsonInt32
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
			f.kind = jsonUint32
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			f.kind = jsonInt64
		case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			f.kind = jsonUint64
		case protoreflect.BytesKind:
			f.kind = jsonBytes
		case protoreflect.EnumKind:
			if fd.Enum().FullName() == "google.protobuf.NullValue" {
				return nil
			}
			f.kind = jsonEnum
		case protoreflect.MessageKind:
			if fd.Message().FullName() == "google.protobuf.Timestamp" {
				f.kind = jsonTimestamp
				break
			}
			f.kind = jsonMessage
			if f.msg = buildJSONPlan(fd.Message(), building); f.msg == nil {
				return nil
			}
		default: // floats, whose special values have JSON forms of their own; groups
			return nil
		}
		plan.fields = append(plan.fields, f)
	}
	return plan
}

func (p *jsonPlan) append(b []byte, m protoreflect.Message) ([]byte, error) {
	b = append(b, '{')
	first := true
	var err error
	for i := range p.fields {
		f := &p.fields[i]
		// Has is what protojson writes by default: a field with presence
		// when set, a scalar without presence when not zero, a list when
		// not empty.
		if !m.Has(f.fd) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.name...)
		v := m.Get(f.fd)
		if !f.fd.IsList() {
			if b, err = f.appendValue(b, v); err != nil {
				return b, err
			}
			continue
		}
		list := v.List()
		b = append(b, '[')
		for j := range list.Len() {
			if j > 0 {
				b = append(b, ',')
			}
			if b, err = f.appendValue(b, list.Get(j)); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (f *jsonField) appendValue(b []byte, v protoreflect.Value) ([]byte, error) {
	switch f.kind {
	case jsonString:
		return appendJSONString(b, v.String(), f.fd)
	case jsonBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case jsonInt32:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case jsonUint32:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case jsonInt64:
		b = append(b, '"')
		return append(strconv.AppendInt(b, v.Int(), 10), '"'), nil
	case jsonUint64:
		b = append(b, '"')
		return append(strconv.AppendUint(b, v.Uint(), 10), '"'), nil
	case jsonBytes:
		b = append(b, '"')
		return append(base64.StdEncoding.AppendEncode(b, v.Bytes()), '"'), nil
	case jsonEnum:
		if value := f.fd.Enum().Values().ByNumber(v.Enum()); value != nil {
			b = append(b, '"')
			return append(append(b, value.Name()...), '"'), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case jsonTimestamp:
		return appendJSONTimestamp(b, v.Message())
	default:
		return f.msg.append(b, v.Message())
	}
}

// appendJSONString quotes s as protojson does: only '"', '\' and control
// characters are escaped, and invalid UTF-8 is an error.
func appendJSONString(b []byte, s string, fd protoreflect.FieldDescriptor) ([]byte, error) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return b, fmt.Errorf("field %s contains invalid UTF-8", fd.FullName())
			}
			i += n
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\')
		switch c {
		case '"', '\\':
			b = append(b, c)
		case '\b':
			b = append(b, 'b')
		case '\f':
			b = append(b, 'f')
		case '\n':
			b = append(b, 'n')
		case '\r':
			b = append(b, 'r')
		case '\t':
			b = append(b, 't')
		default:
			b = append(b, 'u')
			b = append(b, "0000"[1+(bits.Len32(uint32(c))-1)/4:]...)
			b = strconv.AppendUint(b, uint64(c), 16)
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// appendJSONTimestamp writes RFC 3339 in UTC with 0, 3, 6 or 9 fractional
// digits, as protojson does; a timestamp out of proto3 JSON's range (years
// 1 to 9999) is an error, as there.
func appendJSONTimestamp(b []byte, m protoreflect.Message) ([]byte, error) {
	ts, ok := m.Interface().(*timestamppb.Timestamp)
	if !ok { // a Timestamp of another implementation, such as dynamicpb
		fields := m.Descriptor().Fields()
		ts = &timestamppb.Timestamp{Seconds: m.Get(fields.ByNumber(1)).Int(), Nanos: int32(m.Get(fields.ByNumber(2)).Int())}
	}
	if err := ts.CheckValid(); err != nil {
		return b, err
	}
	nanos := int64(ts.GetNanos())
	b = append(b, '"')
	b = time.Unix(ts.GetSeconds(), 0).UTC().AppendFormat(b, "2006-01-02T15:04:05")
	switch {
	case nanos == 0:
	case nanos%1e6 == 0:
		b = appendFraction(b, nanos/1e6, 3)
	case nanos%1e3 == 0:
		b = appendFraction(b, nanos/1e3, 6)
	default:
		b = appendFraction(b, nanos, 9)
	}
	return append(b, 'Z', '"'), nil
}

// appendFraction writes '.' and v in digits, zero-padded on the left.
func appendFraction(b []byte, v int64, digits int) []byte {
	var buf [9]byte
	for i := digits - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(append(b, '.'), buf[:digits]...)
}
