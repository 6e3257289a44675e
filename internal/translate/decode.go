package translate

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// InvalidError is a REST body that cannot be translated into its message.
type InvalidError struct {
	// What names what the body holds, for messages: the response field
	// that holds it ("integration", "installations"), or "response".
	What string
	// StatusCode is the answer's status, when the caller knows it.
	StatusCode int
	// Path is where the bad value was, e.g.
	// "latestRevision.content.read.objects[3].requiredFields[1]", or
	// "(body)".
	Path string
	// Reason says what was wrong.
	Reason string
}

func (e *InvalidError) Error() string { return e.Path + ": " + e.Reason }

// pathElem is one step of the path to the value being decoded: a property,
// or an array index when name is "".
type pathElem struct {
	name  string
	index int
	key   bool // name is a map's key
}

func (d *decoder) push(name string) { d.stack = append(d.stack, pathElem{name: name}) }

func (d *decoder) pushIndex(i int) { d.stack = append(d.stack, pathElem{index: i}) }

func (d *decoder) pushKey(key string) { d.stack = append(d.stack, pathElem{name: key, key: true}) }

func (d *decoder) pop() { d.stack = d.stack[:len(d.stack)-1] }

// where renders the path: "latestRevision.content.read.objects[3]",
// "config.content.read.objects[\"contacts\"].schedule".
func (d *decoder) where() string {
	var b []byte
	for _, e := range d.stack {
		if e.key {
			b = append(b, '[')
			b = strconv.AppendQuote(b, e.name)
			b = append(b, ']')
			continue
		}
		if e.name == "" {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(e.index), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, e.name...)
	}
	return string(b)
}

// report tells the caller of an enum value the schema does not know.
func (d *decoder) report(value string) {
	if d.unknownEnum != nil {
		d.unknownEnum(d.where(), value)
	}
}

// decodeBody decodes a whole REST JSON body into m, whose plan is pl, and
// checks that nothing follows it.
func decodeBody(data []byte, pl *plan, m protoreflect.Message, unknownEnum func(path, value string)) error {
	d := &decoder{data: data, unknownEnum: unknownEnum}
	d.message(pl, m)
	return d.finish()
}

// decodeFieldBody decodes a whole REST JSON body as the value of one field
// of m (a response's response_body).
func decodeFieldBody(data []byte, fp *fieldPlan, m protoreflect.Message, unknownEnum func(path, value string)) error {
	d := &decoder{data: data, unknownEnum: unknownEnum}
	switch d.next() {
	case 0:
		d.syntax("unexpected end of JSON input")
	case 'n':
		d.fail("the body is null")
	default:
		d.field(fp, m)
	}
	return d.finish()
}

func (d *decoder) finish() error {
	if d.err == nil {
		d.next()
		if d.pos != len(d.data) {
			d.syntax("data after the value")
		}
	}
	return d.err
}

// field decodes the value of one property into its field of m. A null
// clears the field.
func (d *decoder) field(fp *fieldPlan, m protoreflect.Message) {
	if d.next() == 'n' {
		d.literal("null")
		m.Clear(fp.fd)
		return
	}
	switch {
	case fp.list:
		if !d.want('[', "an array") {
			return
		}
		list := m.Mutable(fp.fd).List()
		list.Truncate(0)
		for i, first := 0, true; d.element(&first); i++ {
			d.pushIndex(i)
			if fp.value.msg != nil {
				if d.next() == 'n' {
					d.literal("null")
					d.empty(fp.value.msg, list.AppendMutable().Message())
				} else {
					elem := list.AppendMutable().Message()
					d.message(fp.value.msg, elem)
				}
			} else if v, ok := d.scalar(&fp.value); ok {
				list.Append(v)
			} else if d.err == nil {
				list.Append(zero(&fp.value))
			}
			d.pop()
		}
	case fp.isMap:
		if !d.want('{', "an object") {
			return
		}
		mp := m.Mutable(fp.fd).Map()
		for first := true; d.member(&first); {
			key := d.str(d.key())
			d.pushKey(key)
			mk := protoreflect.ValueOfString(key).MapKey()
			if fp.value.msg != nil {
				if d.next() == 'n' {
					d.literal("null")
					d.empty(fp.value.msg, mp.Mutable(mk).Message())
				} else {
					d.message(fp.value.msg, mp.Mutable(mk).Message())
				}
			} else if v, ok := d.scalar(&fp.value); ok {
				mp.Set(mk, v)
			} else if d.err == nil {
				mp.Set(mk, zero(&fp.value))
			}
			d.pop()
		}
	case fp.value.msg != nil:
		d.message(fp.value.msg, m.Mutable(fp.fd).Message())
	default:
		if v, ok := d.scalar(&fp.value); ok {
			m.Set(fp.fd, v)
		}
	}
}

// zero is the value a null element of a list or map gets.
func zero(v *valuePlan) protoreflect.Value {
	switch v.kind {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("")
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(false)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(0)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(0)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(0)
	}
	return protoreflect.Value{}
}

// scalar reads a value that is not a message. It reports false for a null
// (consumed) or an error.
func (d *decoder) scalar(v *valuePlan) (protoreflect.Value, bool) {
	switch v.kind {
	case protoreflect.StringKind:
		if !d.want('"', "a string") {
			return protoreflect.Value{}, false
		}
		b := d.rawString()
		if d.err != nil {
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfString(d.str(b)), true
	case protoreflect.BoolKind:
		switch d.next() {
		case 't':
			d.literal("true")
			return protoreflect.ValueOfBool(true), d.err == nil
		case 'f':
			d.literal("false")
			return protoreflect.ValueOfBool(false), d.err == nil
		}
		d.want('t', "a boolean")
		return protoreflect.Value{}, false
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, ok := d.integer(math.MinInt32, math.MaxInt32, "an integer (32 bits)")
		return protoreflect.ValueOfInt32(int32(n)), ok
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, ok := d.integer(math.MinInt64, math.MaxInt64, "an integer (64 bits)")
		return protoreflect.ValueOfInt64(n), ok
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f, ok := d.float()
		if v.kind == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), ok
		}
		return protoreflect.ValueOfFloat64(f), ok
	case protoreflect.EnumKind:
		if !d.want('"', "a string") {
			return protoreflect.Value{}, false
		}
		b := d.rawString()
		if d.err != nil {
			return protoreflect.Value{}, false
		}
		n, known := v.enum.byREST[string(b)]
		if !known && len(b) > 0 { // "" is no value at all
			d.report(string(b))
		}
		return protoreflect.ValueOfEnum(n), true
	}
	d.fail("cannot decode a " + v.kind.String())
	return protoreflect.Value{}, false
}

func (d *decoder) integer(lo, hi int64, want string) (int64, bool) {
	if c := d.next(); c != '-' && (c < '0' || c > '9') {
		d.want('0', want)
		return 0, false
	}
	start := d.pos
	integer := d.number()
	if d.err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	if !integer || err != nil || n < lo || n > hi {
		d.fail("got a JSON number, want " + want)
		return 0, false
	}
	return n, true
}

func (d *decoder) float() (float64, bool) {
	if c := d.next(); c != '-' && (c < '0' || c > '9') {
		d.want('0', "a number")
		return 0, false
	}
	start := d.pos
	d.number()
	if d.err != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
	if err != nil {
		d.fail("got a JSON number out of range")
		return 0, false
	}
	return f, true
}

// message decodes a value into m, which is set: an object, or a
// well-known type's JSON form, or a wrapper's one field's value.
func (d *decoder) message(pl *plan, m protoreflect.Message) {
	if pl.goType != nil && pl.wkt != wktStruct && pl.wkt != wktValue {
		d.messageAt(pl, pointerOf(m.Interface()), m)
		return
	}
	switch pl.wkt {
	case wktTimestamp:
		d.timestamp(m)
		return
	case wktStruct:
		if !d.want('{', "an object") {
			return
		}
		d.structFields(m.Interface().(*structpb.Struct))
		return
	case wktValue:
		v := m.Interface().(*structpb.Value)
		d.jsonValue(v)
		return
	}
	if pl.wrapper != nil {
		d.field(pl.wrapper, m)
		return
	}
	if !d.want('{', "an object") {
		return
	}
	var variant *variantPlan
	var vm protoreflect.Message
	if pl.untagged != nil {
		variant = d.chooseVariant(pl.untagged)
		if variant == nil {
			if d.err == nil {
				d.fail(noVariant(pl.untagged))
			}
			return
		}
		vm = m.Mutable(variant.fd).Message()
	}
	for first := true; d.member(&first); {
		fp := pl.lookup(d.key())
		target := m
		if fp == nil && variant != nil {
			fp = variant.msg.lookup(d.key())
			target = vm
		}
		if fp == nil {
			d.skip()
			continue
		}
		d.push(fp.name)
		d.field(fp, target)
		d.pop()
	}
	if d.err == nil {
		d.checkOneofs(pl, m)
	}
}

// empty is a null element of a list or map of messages: an empty message,
// which must still fit a variant of each oneof.
func (d *decoder) empty(pl *plan, m protoreflect.Message) {
	if d.err != nil || pl.wkt != wktNone || pl.wrapper != nil {
		return
	}
	if pl.untagged != nil {
		d.fail(noVariant(pl.untagged))
		return
	}
	d.checkOneofs(pl, m)
}

// lookup finds the field of a REST property, by exact name or else
// case-insensitively, as encoding/json matches.
func (pl *plan) lookup(key []byte) *fieldPlan {
	hint := 0
	return pl.lookupFrom(key, &hint)
}

// lookupFrom is lookup starting at the fields expected at *hint, and
// leaving *hint at the field after the one found: an object's properties
// tend to come in the order of the message's fields, or sorted by name, so
// that most lookups compare one or two names.
func (pl *plan) lookupFrom(key []byte, hint *int) *fieldPlan {
	for _, fp := range pl.expected(*hint) {
		if fp.name == string(key) {
			*hint = fp.index + 1
			return fp
		}
	}
	if len(key) < len(pl.byLen) {
		for _, j := range pl.byLen[len(key)] {
			if pl.fields[j].name == string(key) {
				*hint = j + 1
				return pl.fields[j]
			}
		}
	}
	for _, fp := range pl.fields {
		if foldEqual(key, fp.name) {
			return fp
		}
	}
	return nil
}

// expected are the fields most likely named next after the field before
// hint (of index hint-1; hint is 0 at an object's start): the field after
// it, and the field whose name follows its name.
func (pl *plan) expected(hint int) []*fieldPlan {
	if hint < len(pl.next) {
		return pl.next[hint]
	}
	return nil
}

// checkOneofs fails unless each real oneof of a decoded object has a
// variant set.
func (d *decoder) checkOneofs(pl *plan, m protoreflect.Message) {
	for _, od := range pl.oneofs {
		if od == nil || (pl.untagged != nil && od == pl.untagged.desc) {
			continue
		}
		if m.WhichOneof(od) == nil {
			d.fail("the object fits no variant of " + string(od.Name()) + ": it has none of " + oneofFieldNames(od))
			return
		}
	}
}

func oneofFieldNames(od protoreflect.OneofDescriptor) string {
	out := ""
	for i := range od.Fields().Len() {
		if i > 0 {
			out += ", "
		}
		out += od.Fields().Get(i).JSONName()
	}
	return out
}

// noVariant says why an object fits no variant of o: "field has neither
// fieldName nor mapToName" when each variant needs one property of its own,
// else which properties, of which JSON types, each variant needs.
func noVariant(o *oneofPlan) string {
	distinct := len(o.required) == len(o.variants)
	for _, v := range o.variants {
		distinct = distinct && len(v.required) == 1
	}
	if distinct {
		names := slices.Clone(o.required)
		last := names[len(names)-1]
		return string(o.desc.Name()) + " has neither " + strings.Join(names[:len(names)-1], ", ") + " nor " + last
	}
	var parts []string
	for _, v := range o.variants {
		var needs []string
		for _, r := range v.required {
			needs = append(needs, o.required[r.index]+" ("+jsonTypeNames[r.want]+")")
		}
		parts = append(parts, string(v.fd.Name())+" needs "+strings.Join(needs, " and "))
	}
	return string(o.desc.Name()) + " fits none of its variants: " + strings.Join(parts, "; ")
}

var jsonTypeNames = map[jsonType]string{
	jsonString: "a string", jsonBool: "a boolean", jsonInteger: "an integer", jsonNumber: "a number",
	jsonObject: "an object", jsonArray: "an array", jsonAny: "any value",
}

// chooseVariant looks ahead through the object at the cursor, whose '{' is
// consumed, for the properties that tell the variants apart, and returns
// the first variant whose required properties are all there with the JSON
// types they must have. The cursor does not move.
func (d *decoder) chooseVariant(o *oneofPlan) *variantPlan {
	var found [maxRequired]jsonType
	var have [maxRequired]bool
	if len(o.required) > maxRequired {
		d.fail("too many required properties to choose a variant")
		return nil
	}
	start, saveStack := d.pos, len(d.stack)
	for first := true; d.member(&first); {
		i := o.requiredIndex(d.key())
		if i < 0 {
			d.skip()
			continue
		}
		c := d.next()
		at := d.pos
		d.skip()
		if c == 'n' {
			continue // null is absent
		}
		found[i], have[i] = jsonTypeAt(c, d.data[at:d.pos]), true
		if fits(o.variants[0], &found, &have) {
			break // the first variant wins whatever else the object holds
		}
	}
	if d.err != nil {
		return nil
	}
	d.pos = start
	d.stack = d.stack[:saveStack]
	return o.choose(&found, &have)
}

// maxRequired bounds the required properties of an untagged oneof's
// variants, in all.
const maxRequired = 16

// choose is the first variant whose required properties were all found.
func (o *oneofPlan) choose(found *[maxRequired]jsonType, have *[maxRequired]bool) *variantPlan {
	for _, v := range o.variants {
		if fits(v, found, have) {
			return v
		}
	}
	return nil
}

// fits reports whether the properties found so far hold every required
// property of v with its JSON type.
func fits(v *variantPlan, found *[maxRequired]jsonType, have *[maxRequired]bool) bool {
	for _, r := range v.required {
		got := found[r.index]
		if !have[r.index] || got != r.want && r.want != jsonAny && !(r.want == jsonNumber && got == jsonInteger) {
			return false
		}
	}
	return true
}

// jsonTypeAt is the type of the JSON value lit, which starts with c.
func jsonTypeAt(c byte, lit []byte) jsonType {
	switch {
	case c == '"':
		return jsonString
	case c == 't' || c == 'f':
		return jsonBool
	case c == '{':
		return jsonObject
	case c == '[':
		return jsonArray
	case isIntegerLiteral(lit):
		return jsonInteger
	default:
		return jsonNumber
	}
}

func isIntegerLiteral(b []byte) bool {
	for _, c := range b {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// timestamp reads an RFC 3339 string into a Timestamp.
func (d *decoder) timestamp(m protoreflect.Message) {
	if ts, ok := d.timestampValue(); ok {
		out := m.Interface().(*timestamppb.Timestamp)
		out.Seconds, out.Nanos = ts.Seconds, ts.Nanos
	}
}

// timestampValue reads an RFC 3339 string. It reports false for a null
// (consumed) or an error.
func (d *decoder) timestampValue() (*timestamppb.Timestamp, bool) {
	if !d.want('"', "a string") {
		return nil, false
	}
	b := d.rawString()
	if d.err != nil {
		return nil, false
	}
	ts, err := ParseTimestamp(string(b))
	if err != nil {
		d.fail("invalid date-time " + quote(string(b), 64))
		return nil, false
	}
	return ts, true
}

// ParseTimestamp parses an RFC 3339 time, normalised to UTC, in the range
// a Timestamp holds.
func ParseTimestamp(in string) (*timestamppb.Timestamp, error) {
	parsed, err := time.Parse(time.RFC3339Nano, in)
	if err != nil {
		return nil, err
	}
	ts := timestamppb.New(parsed)
	if err := ts.CheckValid(); err != nil {
		return nil, err
	}
	return ts, nil
}

// structFields reads the members of an object, whose '{' is at the cursor,
// into a Struct.
func (d *decoder) structFields(s *structpb.Struct) {
	if !d.deeper() {
		return
	}
	if s.Fields == nil {
		s.Fields = map[string]*structpb.Value{}
	}
	for first := true; d.member(&first); {
		key := d.str(d.key())
		v := &structpb.Value{}
		d.jsonValue(v)
		s.Fields[key] = v
	}
	d.depth--
}

func (d *decoder) deeper() bool {
	d.depth++
	if d.depth > maxDepth {
		d.syntax("exceeded max depth")
		return false
	}
	return true
}

// jsonValue reads any JSON value into a Value.
func (d *decoder) jsonValue(v *structpb.Value) {
	switch c := d.next(); c {
	case '{':
		s := &structpb.Struct{}
		d.structFields(s)
		v.Kind = &structpb.Value_StructValue{StructValue: s}
	case '[':
		if !d.deeper() {
			return
		}
		l := &structpb.ListValue{}
		for first := true; d.element(&first); {
			e := &structpb.Value{}
			d.jsonValue(e)
			l.Values = append(l.Values, e)
		}
		d.depth--
		v.Kind = &structpb.Value_ListValue{ListValue: l}
	case '"':
		b := d.rawString()
		v.Kind = &structpb.Value_StringValue{StringValue: d.str(b)}
	case 't':
		d.literal("true")
		v.Kind = &structpb.Value_BoolValue{BoolValue: true}
	case 'f':
		d.literal("false")
		v.Kind = &structpb.Value_BoolValue{BoolValue: false}
	case 'n':
		d.literal("null")
		v.Kind = &structpb.Value_NullValue{}
	case 0:
		d.syntax("unexpected end of JSON input")
	default:
		f, ok := d.float()
		if ok {
			v.Kind = &structpb.Value_NumberValue{NumberValue: f}
		}
	}
}

// quote quotes s for a message, cut to at most n bytes on a rune boundary.
func quote(s string, n int) string {
	return strconv.Quote(Truncate(s, n))
}

// Truncate cuts s to at most n bytes, marking a cut with "...": on a rune
// boundary, so that a character is never cut in two (a string that was
// valid UTF-8 stays valid).
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for back := 0; back < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); back++ {
		n--
	}
	return s[:n] + "..."
}
