package translate

import (
	"encoding/binary"
	"math"
	"strconv"
	"unsafe"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/ampersand-connect/gateway/internal/jsonfmt"
)

// This file is the transcoder's other output: proto JSON, as JSON clients
// read it, written straight from the REST body on the same walk as the
// binary encoding (see transcode.go). The property names are the REST
// names, which are the fields' JSON names; what differs is the untagged
// oneofs, whose variant's properties the variant's field holds, the
// enums, written by their proto names, the 64-bit integers, written as
// strings, and the timestamps, written in UTC.

// TranscodeJSON returns the proto JSON encoding of the message that
// [Method.NewResponse] makes of a 2xx answer's JSON body, and true; or
// false, as [Method.Transcode] does, when the body must be decoded
// instead (a key given twice in a map or a Struct, which proto JSON
// allows once, among others). On true, protojson.Unmarshal of the bytes
// gives a message equal to NewResponse's (proto.Equal). The properties
// come in the body's order, and a field the body gives with its zero value
// is written too: valid proto JSON, but not protojson.Marshal's bytes. The
// bytes do not share body's memory.
func (m *Method) TranscodeJSON(body []byte, contentType string) ([]byte, bool) {
	return m.transcodeAs(body, contentType, true, &m.json)
}

// sep writes the comma that separates a value from the one before.
func (t *transcoder) sep() {
	if t.comma {
		t.w.byte(',')
	}
}

// open starts an object or array in proto JSON; it writes nothing in the
// binary encoding, nor does close.
func (t *transcoder) open(c byte) {
	if t.json {
		t.sep()
		t.w.byte(c)
		t.comma = false
	}
}

// close ends the object or array open.
func (t *transcoder) close(c byte) {
	if t.json {
		t.w.byte(c)
		t.comma = true
	}
}

// key writes a property's name, made by jsonKey.
func (t *transcoder) key(name []byte) {
	if !t.comma {
		name = name[1:]
	}
	t.w.raw(name...)
	t.comma = false
}

// jsonKey is name quoted and followed by a colon, after a comma, as key
// writes it (without the comma for an object's first property).
func jsonKey(name string) []byte {
	b, _ := jsonfmt.AppendString([]byte{','}, name)
	return append(b, ':')
}

// mapKey writes the current property's name, which the decoder read, as a
// map's key or a Struct's.
func (t *transcoder) mapKey(name []byte) {
	t.str(name)
	t.w.byte(':')
	t.comma = false
}

// str writes a string the decoder read: as it is when it is a slice of the
// input (ASCII with nothing to escape), else escaped.
func (t *transcoder) str(b []byte) {
	t.sep()
	w := &t.w
	if len(b) == 0 || unsafe.SliceData(b) != unsafe.SliceData(t.d.buf) {
		w.reserve(len(b) + 2 + 16)
		w.buf[w.n] = '"'
		if len(b) <= 16 && cap(b) >= 16 {
			// Two words copied, whatever their bytes past b's end: the
			// quote and the next write overwrite them.
			b16, dst := b[:16], w.buf[w.n+1:w.n+17]
			binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(b16))
			binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(b16[8:]))
		} else {
			copy(w.buf[w.n+1:], b)
		}
		w.buf[w.n+1+len(b)] = '"'
		w.n += len(b) + 2
	} else {
		// The decoder made the string valid UTF-8.
		w.append(func(dst []byte) []byte {
			dst, _ = jsonfmt.AppendString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
			return dst
		})
	}
	t.comma = true
}

// token writes a value's text as it is.
func (t *transcoder) token(b []byte) {
	t.sep()
	t.w.raw(b...)
	t.comma = true
}

// append writes what f appends to the content.
func (w *wireWriter) append(f func([]byte) []byte) {
	b := f(w.buf[:w.n])
	w.buf, w.n = b[:cap(b)], len(b)
}

// jsonNumber writes a number, boolean or enum value in proto JSON.
func (t *transcoder) jsonNumber(v *valuePlan) {
	bits, ok := t.number(v)
	if !ok {
		return
	}
	var buf [32]byte
	var b []byte
	switch v.kind {
	case protoreflect.BoolKind:
		b = strconv.AppendBool(buf[:0], bits != 0)
	case protoreflect.Int32Kind:
		b = strconv.AppendInt(buf[:0], int64(int32(bits)), 10)
	case protoreflect.Int64Kind:
		b = append(strconv.AppendInt(append(buf[:0], '"'), int64(bits), 10), '"')
	case protoreflect.FloatKind:
		b = appendFloat(buf[:0], float64(math.Float32frombits(uint32(bits))), 32)
	case protoreflect.DoubleKind:
		b = appendFloat(buf[:0], math.Float64frombits(bits), 64)
	case protoreflect.EnumKind:
		ev := v.enum.desc.Values().ByNumber(protoreflect.EnumNumber(int32(bits)))
		if ev == nil {
			t.giveUp()
			return
		}
		b = append(append(append(buf[:0], '"'), ev.Name()...), '"')
	}
	t.token(b)
}

// appendFloat writes a float as proto JSON does: a number, or a string
// for the values JSON has no number for.
func appendFloat(b []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bitSize)
}

// jsonTimestamp writes a Timestamp in proto JSON.
func (t *transcoder) jsonTimestamp(seconds int64, nanos int32) {
	t.sep()
	t.w.append(func(b []byte) []byte { return jsonfmt.AppendTimestamp(b, seconds, nanos) })
	t.comma = true
}

// jsonAny writes any JSON value as a google.protobuf.Value's proto JSON:
// the same value, with its numbers as doubles and a key given twice in an
// object given up on.
func (t *transcoder) jsonAny() {
	d := &t.d
	switch c := d.next(); c {
	case '{':
		t.open('{')
		t.structFields()
		t.close('}')
	case '[':
		if !t.deeper() {
			return
		}
		t.open('[')
		for first := true; d.element(&first); {
			t.jsonAny()
		}
		t.close(']')
		t.depth--
	case '"':
		if b := d.rawString(); d.err == nil {
			t.str(b)
		}
	case 't':
		d.literal("true")
		t.token([]byte("true"))
	case 'f':
		d.literal("false")
		t.token([]byte("false"))
	case 'n':
		d.literal("null")
		t.token([]byte("null"))
	case 0:
		t.giveUp()
	default:
		f, ok := d.float()
		if !ok || math.IsInf(f, 0) {
			t.giveUp() // a Value holds no infinity
			return
		}
		var buf [32]byte
		b := strconv.AppendFloat(buf[:0], f, 'g', -1, 64)
		t.token(b)
	}
}
