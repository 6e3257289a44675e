package codec

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ampersand-connect/gateway/internal/jsonfmt"
)

// appendJSON appends m's proto3 JSON, as protojson.Marshal with its default
// options writes it (but with no white space), to dst.
//
// protojson walks every message through protoreflect's Range, which boxes
// each value, and sorts the fields of every message it writes; on a 1.6 MB
// integration that cost about 50 ms of CPU, most of a Connect+JSON call.
// This encoder follows a plan made once per generated message type: the
// fields in declaration order (the order protojson writes them in) with
// their names already quoted, each read at its offset in the Go struct, a
// oneof's member known by the interface's type word. A message type with a
// field the plan does not cover (a float, a map, a well-known type other
// than Timestamp, a required field), or that protoc-gen-go did not
// generate, is handed whole to protojson.
// FuzzEncodeJSONMatchesProtojson and the fully populated messages of
// TestEncodeJSONMatchesProtojson hold the two to the same JSON.
func appendJSON(dst []byte, m proto.Message) ([]byte, error) {
	plan := jsonPlanFor(m.ProtoReflect().Descriptor(), reflect.TypeOf(m))
	if plan == nil {
		return protojson.MarshalOptions{}.MarshalAppend(dst, m)
	}
	ptr := dataPointer(m)
	if ptr == nil { // a typed nil: an empty message, as protojson has it
		return append(dst, '{', '}'), nil
	}
	return plan.append(dst, ptr)
}

// jsonPlan is how one message type is written.
type jsonPlan struct {
	fields []jsonField
}

type jsonField struct {
	fd     protoreflect.FieldDescriptor
	name   string // `"jsonName":`
	kind   jsonKind
	card   wireCard
	offset uintptr
	// For a member of a oneof: the type word of the interface at offset
	// when it holds this member, whose wrapper's only field is the value.
	itab unsafe.Pointer
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

// jsonPlans caches a plan, or nil for a type protojson must write, by Go
// type.
var jsonPlans sync.Map

func jsonPlanFor(md protoreflect.MessageDescriptor, t reflect.Type) *jsonPlan {
	if plan, ok := jsonPlans.Load(t); ok {
		return plan.(*jsonPlan)
	}
	plan := buildJSONPlan(md, t, map[reflect.Type]*jsonPlan{})
	jsonPlans.Store(t, plan)
	return plan
}

var timestampType = reflect.TypeOf((*timestamppb.Timestamp)(nil))

// buildJSONPlan makes the plan of t, a pointer to a generated message
// struct of md, or returns nil if md or a message it holds has a field the
// plan cannot write. building holds the plans being made, for recursive
// types.
func buildJSONPlan(md protoreflect.MessageDescriptor, t reflect.Type, building map[reflect.Type]*jsonPlan) *jsonPlan {
	if plan, ok := building[t]; ok {
		return plan
	}
	if md.FullName().Parent() == "google.protobuf" || md.ExtensionRanges().Len() > 0 {
		return nil // well-known types have JSON forms of their own
	}
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || !plannable(md) {
		return nil
	}
	if _, ok := generated(t.Elem()); !ok {
		return nil
	}
	plan := &jsonPlan{}
	building[t] = plan
	byNumber, oneofs := structFields(t.Elem())
	members := map[protoreflect.FieldNumber]oneofMember{}
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
			f.kind = jsonMessage
			if fd.Message().FullName() == "google.protobuf.Timestamp" {
				f.kind = jsonTimestamp
			}
		default: // floats, whose special values have JSON forms of their own; groups
			return nil
		}
		var goType reflect.Type
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			sf, ok := oneofs[string(od.Name())]
			if !ok {
				return nil
			}
			if _, found := members[fd.Number()]; !found { // the oneof's first member
				found, ok := oneofMembers(t, od, sf)
				if !ok {
					return nil
				}
				for _, m := range found {
					members[m.fd.Number()] = m
				}
			}
			m := members[fd.Number()]
			f.offset, f.itab, goType, f.card = sf.Offset, m.itab, m.valueType, cardAlways
			if fd.Message() != nil {
				f.card = cardPointer
			}
		} else {
			sf, ok := byNumber[fd.Number()]
			if !ok {
				return nil
			}
			f.offset, goType, f.card = sf.Offset, sf.Type, cardOf(fd)
		}
		if !f.checkType(goType, building) {
			return nil
		}
		plan.fields = append(plan.fields, f)
	}
	return plan
}

// checkType checks that the Go type holding the field's value is the one
// the plan reads, and plans a message field's type.
func (f *jsonField) checkType(gt reflect.Type, building map[reflect.Type]*jsonPlan) bool {
	if f.card == cardRepeated {
		if gt.Kind() != reflect.Slice {
			return false
		}
		gt = gt.Elem()
	} else if f.card == cardPointer && f.fd.Message() == nil {
		if gt.Kind() != reflect.Pointer {
			return false
		}
		gt = gt.Elem()
	}
	switch f.kind {
	case jsonTimestamp:
		return gt == timestampType
	case jsonMessage:
		f.msg = buildJSONPlan(f.fd.Message(), gt, building)
		return f.msg != nil
	case jsonString:
		return gt.Kind() == reflect.String
	case jsonBytes:
		return gt.Kind() == reflect.Slice && gt.Elem().Kind() == reflect.Uint8
	}
	kind := f.fd.Kind()
	return int(kind) < len(scalarSizes) && scalarSizes[kind] != 0 && gt.Size() == scalarSizes[kind] &&
		gt.Kind() != reflect.Pointer && gt.Kind() != reflect.Slice
}

// append writes the message at ptr.
func (p *jsonPlan) append(b []byte, ptr unsafe.Pointer) ([]byte, error) {
	b = append(b, '{')
	first := true
	var err error
	for i := range p.fields {
		f := &p.fields[i]
		// What protojson writes by default: a field with presence when set,
		// a scalar without presence when not zero, a list when not empty.
		at := unsafe.Add(ptr, f.offset)
		if f.itab != nil {
			iface := (*[2]unsafe.Pointer)(at)
			if iface[0] != f.itab || iface[1] == nil {
				continue
			}
			at = iface[1] // the wrapper, whose only field is the value
			if f.card == cardPointer {
				at = *(*unsafe.Pointer)(at) // nil is written as an empty message
			}
		} else {
			switch f.card {
			case cardImplicit:
				if isZero(f.fd.Kind(), at) {
					continue
				}
			case cardPointer:
				if at = *(*unsafe.Pointer)(at); at == nil {
					continue
				}
			case cardRepeated:
				if n, _ := sliceOf(at); n == 0 {
					continue
				}
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.name...)
		if f.card != cardRepeated {
			if b, err = f.appendValue(b, at); err != nil {
				return b, err
			}
			continue
		}
		n, data := sliceOf(at)
		step := f.elemSize()
		b = append(b, '[')
		for j := range n {
			if j > 0 {
				b = append(b, ',')
			}
			elem := unsafe.Add(data, uintptr(j)*step)
			if f.kind == jsonMessage || f.kind == jsonTimestamp {
				elem = *(*unsafe.Pointer)(elem)
			}
			if b, err = f.appendValue(b, elem); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// elemSize is the size in memory of an element of a repeated field.
func (f *jsonField) elemSize() uintptr {
	switch f.kind {
	case jsonString:
		return unsafe.Sizeof("")
	case jsonBytes:
		return unsafe.Sizeof([]byte(nil))
	case jsonMessage, jsonTimestamp:
		return unsafe.Sizeof(unsafe.Pointer(nil))
	}
	return scalarSizes[f.fd.Kind()]
}

// appendValue writes the value at p; for a message, p is the message.
func (f *jsonField) appendValue(b []byte, p unsafe.Pointer) ([]byte, error) {
	switch f.kind {
	case jsonString:
		return appendJSONString(b, *(*string)(p), f.fd)
	case jsonBool:
		return strconv.AppendBool(b, *(*bool)(p)), nil
	case jsonInt32:
		return strconv.AppendInt(b, int64(*(*int32)(p)), 10), nil
	case jsonUint32:
		return strconv.AppendUint(b, uint64(*(*uint32)(p)), 10), nil
	case jsonInt64:
		b = append(b, '"')
		return append(strconv.AppendInt(b, *(*int64)(p), 10), '"'), nil
	case jsonUint64:
		b = append(b, '"')
		return append(strconv.AppendUint(b, *(*uint64)(p), 10), '"'), nil
	case jsonBytes:
		b = append(b, '"')
		return append(base64.StdEncoding.AppendEncode(b, *(*[]byte)(p)), '"'), nil
	case jsonEnum:
		n := protoreflect.EnumNumber(*(*int32)(p))
		if value := f.fd.Enum().Values().ByNumber(n); value != nil {
			b = append(b, '"')
			return append(append(b, value.Name()...), '"'), nil
		}
		return strconv.AppendInt(b, int64(n), 10), nil
	case jsonTimestamp:
		if p == nil {
			return appendJSONTimestamp(b, &timestamppb.Timestamp{})
		}
		return appendJSONTimestamp(b, (*timestamppb.Timestamp)(p))
	default:
		if p == nil {
			return append(b, '{', '}'), nil
		}
		return f.msg.append(b, p)
	}
}

// appendJSONString quotes s as protojson does: only '"', '\' and control
// characters are escaped; invalid UTF-8 is an error.
func appendJSONString(b []byte, s string, fd protoreflect.FieldDescriptor) ([]byte, error) {
	b, ok := jsonfmt.AppendString(b, s)
	if !ok {
		return b, fmt.Errorf("field %s contains invalid UTF-8", fd.FullName())
	}
	return b, nil
}

// appendJSONTimestamp writes RFC 3339 in UTC with 0, 3, 6 or 9 fractional
// digits, as protojson does, after checking the range.
func appendJSONTimestamp(b []byte, ts *timestamppb.Timestamp) ([]byte, error) {
	if err := ts.CheckValid(); err != nil {
		return b, err
	}
	return jsonfmt.AppendTimestamp(b, ts.GetSeconds(), ts.GetNanos()), nil
}
