package translate

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// FieldError is a request the translator refuses: a value that has no REST
// form, or a path parameter that the upstream must not be sent.
type FieldError struct {
	// Field is the request field, as a path of proto field names:
	// "project_id_or_name", "body.installation.config".
	Field string
	// Description says what is wrong.
	Description string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Description }

// encoder writes messages as REST JSON: what the client set and nothing
// else (presence for optional scalars and messages, non-empty strings,
// lists and maps), enums by their REST spelling, an untagged oneof's
// variant merged into its object, a wrapper as its one field's value.
type encoder struct {
	buf   []byte
	err   *FieldError
	stack []string // proto field names, for errors
}

func (e *encoder) fail(description string) {
	if e.err == nil {
		e.err = &FieldError{Field: strings.Join(e.stack, "."), Description: description}
	}
}

// object writes m as a JSON object, less the fields skip names.
func (e *encoder) object(pl *plan, m protoreflect.Message, skip map[protoreflect.FieldNumber]bool) {
	e.buf = append(e.buf, '{')
	first := true
	e.members(pl, m, skip, &first)
	e.buf = append(e.buf, '}')
}

func (e *encoder) members(pl *plan, m protoreflect.Message, skip map[protoreflect.FieldNumber]bool, first *bool) {
	for _, fp := range pl.fields {
		if skip[fp.fd.Number()] || !m.Has(fp.fd) {
			continue
		}
		if !*first {
			e.buf = append(e.buf, ',')
		}
		*first = false
		e.buf = appendString(e.buf, fp.name)
		e.buf = append(e.buf, ':')
		e.stack = append(e.stack, string(fp.fd.Name()))
		e.field(fp, m.Get(fp.fd))
		e.stack = e.stack[:len(e.stack)-1]
	}
	for _, od := range pl.oneofs {
		if m.WhichOneof(od) == nil {
			e.stack = append(e.stack, string(od.Name()))
			e.fail("set one of " + oneofProtoNames(od))
			e.stack = e.stack[:len(e.stack)-1]
			return
		}
	}
	if pl.untagged != nil {
		fd := m.WhichOneof(pl.untagged.desc)
		for _, v := range pl.untagged.variants {
			if v.fd == fd {
				e.stack = append(e.stack, string(fd.Name()))
				e.members(v.msg, m.Get(fd).Message(), nil, first)
				e.stack = e.stack[:len(e.stack)-1]
			}
		}
	}
}

func oneofProtoNames(od protoreflect.OneofDescriptor) string {
	names := make([]string, od.Fields().Len())
	for i := range names {
		names[i] = string(od.Fields().Get(i).Name())
	}
	return strings.Join(names, ", ")
}

func (e *encoder) field(fp *fieldPlan, v protoreflect.Value) {
	switch {
	case fp.list:
		list := v.List()
		e.buf = append(e.buf, '[')
		for i := range list.Len() {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.stack = append(e.stack, strconv.Itoa(i))
			e.value(&fp.value, list.Get(i))
			e.stack = e.stack[:len(e.stack)-1]
		}
		e.buf = append(e.buf, ']')
	case fp.isMap:
		mp := v.Map()
		keys := make([]string, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k.String())
			return true
		})
		slices.Sort(keys)
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendString(e.buf, k)
			e.buf = append(e.buf, ':')
			e.stack = append(e.stack, k)
			e.value(&fp.value, mp.Get(protoreflect.ValueOfString(k).MapKey()))
			e.stack = e.stack[:len(e.stack)-1]
		}
		e.buf = append(e.buf, '}')
	default:
		e.value(&fp.value, v)
	}
}

func (e *encoder) value(vp *valuePlan, v protoreflect.Value) {
	switch vp.kind {
	case protoreflect.StringKind:
		e.buf = appendString(e.buf, v.String())
	case protoreflect.BoolKind:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			e.fail("NaN and infinities have no JSON form")
			e.buf = append(e.buf, '0')
			return
		}
		e.buf = strconv.AppendFloat(e.buf, f, 'g', -1, 64)
	case protoreflect.EnumKind:
		rest, ok := vp.enum.rest[v.Enum()]
		switch {
		case v.Enum() == 0:
			e.fail(string(vp.enum.desc.Values().ByNumber(0).Name()) + " is not a value: set one of " + enumNames(vp.enum))
		case !ok:
			e.fail(strconv.Itoa(int(v.Enum())) + " is not a value of " + string(vp.enum.desc.FullName()))
		}
		e.buf = appendString(e.buf, rest)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		e.message(vp.msg, v.Message())
	default:
		e.fail("a " + vp.kind.String() + " has no REST form")
		e.buf = append(e.buf, "null"...)
	}
}

func enumNames(ep *enumPlan) string {
	var names []string
	for i := range ep.desc.Values().Len() {
		if vd := ep.desc.Values().Get(i); vd.Number() != 0 {
			names = append(names, string(vd.Name()))
		}
	}
	return strings.Join(names, ", ")
}

func (e *encoder) message(pl *plan, m protoreflect.Message) {
	switch pl.wkt {
	case wktTimestamp:
		ts := m.Interface().(*timestamppb.Timestamp)
		if err := ts.CheckValid(); err != nil {
			e.fail("not a valid timestamp: " + err.Error())
		}
		e.buf = appendString(e.buf, ts.AsTime().UTC().Format(time.RFC3339Nano))
		return
	case wktStruct, wktValue:
		data, err := protojson.Marshal(m.Interface())
		if err != nil {
			e.fail(err.Error())
			e.buf = append(e.buf, "null"...)
			return
		}
		e.buf = append(e.buf, data...)
		return
	}
	if pl.wrapper != nil {
		e.field(pl.wrapper, m.Get(pl.wrapper.fd))
		return
	}
	e.object(pl, m, nil)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			switch c {
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(b, '"')
}
