package translate

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file is the transcoder: it reads a REST JSON body once and writes
// the protobuf binary encoding of the response message that [Method.NewResponse]
// would make of it, without making the message. It covers the bodies an
// upstream sends in the normal run of things. On anything else (an error,
// an enum value the schema does not know, a property given twice, a null
// where a value is needed, a type the transcoder does not write) it gives
// up, and the caller decodes the body instead, which either succeeds or
// says what is wrong. So it never has to say why a body is bad, and a
// body it writes means exactly what the decoded message would.
//
// A nested message's length comes before its content, and is not known
// until the content is written. The transcoder writes the content without
// lengths and notes, for each nested message, where it starts, its tag and
// its length; a last pass copies the content once, putting the tags and
// lengths in.

// maxTranscodeDepth bounds the nesting the transcoder follows; deeper
// bodies are decoded instead.
const maxTranscodeDepth = 100

// maxTranscodeFields is how many fields a message may have for the
// transcoder to track which are set.
const maxTranscodeFields = 256

// Transcode returns the protobuf binary encoding of the message that
// [Method.NewResponse] makes of a 2xx answer's JSON body, and true; or
// false, when the body must be decoded with NewResponse instead: it is not
// JSON, or not valid, or holds something the transcoder leaves to the
// decoder (see the top of transcode.go). On true, NewResponse would have
// succeeded and reported no unknown enum value, and the bytes, unmarshaled,
// equal its message (proto.Equal). The fields are in the order the body
// gives them, not by number: a valid encoding, but not proto.Marshal's
// bytes. The bytes do not share body's memory.
func (m *Method) Transcode(body []byte, contentType string) ([]byte, bool) {
	return m.transcodeAs(body, contentType, false, &m.wire)
}

// transcodeAs is Transcode, or with json TranscodeJSON, counting the bodies
// given up on in tries.
func (m *Method) transcodeAs(body []byte, contentType string, json bool, tries *output) ([]byte, bool) {
	if !tries.covered || !m.transcodes(body, contentType) {
		return nil, false
	}
	// An upstream whose answers the transcoder keeps giving up on (a new
	// enum value in every body, say) would have each read twice: after
	// maxGiveUps in a row, only one call in retryEvery tries.
	if tries.giveUps.Load() >= maxGiveUps && tries.skipped.Add(1)%retryEvery != 0 {
		return nil, false
	}
	out, ok := m.transcode(body, json)
	switch {
	case !ok:
		if tries.giveUps.Load() < maxGiveUps {
			tries.giveUps.Add(1)
		}
	case tries.giveUps.Load() != 0:
		tries.giveUps.Store(0)
	}
	return out, ok
}

// output is what a method knows of one of the transcoder's outputs:
// whether it covers the method's response, the transcodings of its answers
// given up in a row, up to maxGiveUps, and the calls not tried since.
type output struct {
	covered bool
	giveUps atomic.Int32
	skipped atomic.Uint32
}

// maxGiveUps and retryEvery are how Transcode stops trying on a method
// whose answers it gives up on: after maxGiveUps in a row, it tries one
// call in retryEvery, until one succeeds.
const (
	maxGiveUps = 8
	retryEvery = 16
)

// transcodes reports whether the transcoder reads body at all.
func (m *Method) transcodes(body []byte, contentType string) bool {
	return len(body) > 0 && mediaTypeOf(contentType) == "application/json"
}

// transcode is Transcode, or with json TranscodeJSON, on a body it reads.
func (m *Method) transcode(body []byte, json bool) ([]byte, bool) {
	t := transcoders.Get().(*transcoder)
	defer t.release()
	return m.transcodeWith(t, body, json)
}

// transcodeWith is transcode with t, which is new or reset.
func (m *Method) transcodeWith(t *transcoder, body []byte, json bool) ([]byte, bool) {
	// The body's capacity is cut to its length: the writers copy short
	// strings a word at a time, reading up to 15 bytes past a string's end
	// but not past the body's.
	t.d.data, t.json = body[:len(body):len(body)], json
	if m.responseBody != nil {
		if c := t.d.next(); c == 'n' || c == 0 {
			return nil, false
		}
		t.open('{')
		t.field(m.responseBody)
		t.close('}')
	} else {
		if t.d.next() != '{' {
			return nil, false
		}
		t.message(m.response)
	}
	if t.failed() {
		return nil, false
	}
	if t.d.next(); t.d.pos != len(t.d.data) {
		return nil, false
	}
	return t.w.assemble(make([]byte, 0, t.w.size())), true
}

// transcodable reports whether the transcoder writes every field of pl
// and of the messages within it, in the binary encoding or with json in
// proto JSON; seen holds the plans being checked, for recursive messages.
func transcodable(pl *plan, json bool, seen map[*plan]bool) bool {
	if seen[pl] {
		return true
	}
	seen[pl] = true
	switch pl.wkt {
	case wktTimestamp, wktStruct, wktValue:
		return true
	}
	if json && pl.desc.ParentFile().Package() == "google.protobuf" {
		// Another well-known type (Duration, a wrapper, FieldMask...),
		// which the decoder reads as a plain object: proto JSON writes it
		// in a form of its own.
		return false
	}
	if len(pl.fields) > maxTranscodeFields || len(pl.tagged) > 64 {
		return false
	}
	if pl.untagged != nil {
		for _, v := range pl.untagged.variants {
			// The decoder writes a variant's properties straight into it:
			// its own oneofs are not looked at.
			if len(v.msg.oneofs) > 0 || v.msg.wrapper != nil || !transcodable(v.msg, json, seen) {
				return false
			}
		}
	}
	for _, fp := range pl.fields {
		if fp.isMap && fp.fd.MapKey().Kind() != protoreflect.StringKind {
			return false
		}
		switch fp.value.kind {
		case protoreflect.StringKind, protoreflect.BoolKind, protoreflect.Int32Kind, protoreflect.Int64Kind,
			protoreflect.DoubleKind, protoreflect.FloatKind, protoreflect.EnumKind:
		case protoreflect.MessageKind:
			if !transcodable(fp.value.msg, json, seen) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// transcoder is the state of one transcoding: a decoder to read the JSON
// with, and the writer of the binary encoding. Transcoders are pooled.
type transcoder struct {
	d     decoder
	w     wireWriter
	depth int
	bail  bool
	keys  []map[string]struct{} // the keys of the maps open, by depth (see mapField)
	// json says that the transcoder writes proto JSON instead (see
	// transcode_json.go); comma, that a value was written last, which the
	// next value follows after a comma.
	json  bool
	comma bool
	// shapes are the shapes remembered of each message's objects, by
	// plan id (see shape.go); shapeMisses counts the objects of this body
	// read the long way and checked for a shape; trail notes the
	// properties read the long way, for remember.
	shapes      []planShapes
	shapeMisses int
	trail       []trailProp
}

var transcoders = sync.Pool{New: func() any { return new(transcoder) }}

// maxPooledBytes bounds each buffer a pooled transcoder keeps,
// maxPooledKeys each set of a map's keys, and maxPooledTrail its notes of
// properties (see shape.go).
const (
	maxPooledBytes = 4 << 20
	maxPooledKeys  = 1024
	maxPooledTrail = 4096
)

func (t *transcoder) release() {
	if len(t.w.buf) > maxPooledBytes || cap(t.d.buf) > maxPooledBytes ||
		len(t.w.marks)*int(unsafe.Sizeof(mark{})) > maxPooledBytes {
		return
	}
	t.reset()
	transcoders.Put(t)
}

// reset readies t for another body, keeping its buffers and its shapes.
func (t *transcoder) reset() {
	if cap(t.trail) > maxPooledTrail {
		t.trail = nil
	}
	for i, keys := range t.keys {
		if len(keys) > maxPooledKeys {
			t.keys[i] = nil // clear would keep its size
		}
		clear(keys) // they share the body's bytes
	}
	*t = transcoder{
		d:    decoder{buf: t.d.buf[:0], stack: t.d.stack[:0]},
		w:    wireWriter{buf: t.w.buf, marks: t.w.marks},
		keys: t.keys,
		// A shape depends on the plans alone.
		shapes: t.shapes,
		trail:  t.trail[:0],
	}
}

// want reports whether the value at the cursor starts with c, as
// decoder.want does; else it gives up.
func (t *transcoder) want(c byte, what string) bool {
	if t.d.next() == c {
		return true
	}
	t.d.want(c, what)
	t.giveUp()
	return false
}

// failed reports whether the transcoder gave up or the JSON was bad.
func (t *transcoder) failed() bool { return t.bail || t.d.err != nil }

// giveUp stops the transcoding: the body is decoded instead.
func (t *transcoder) giveUp() {
	t.bail = true
	t.d.pos = len(t.d.data) // stop reading
}

// wireWriter writes a binary encoding whose nested messages' tags and
// lengths are put in at the end, by assemble. It writes into buffers it
// grows itself, counting what they hold, so that writing stores no pointer
// (a pointer stored while the garbage collector runs costs a write
// barrier): only growing does.
type wireWriter struct {
	buf    []byte // the content is buf[:n], without the nested messages' tags and lengths
	n      int
	marks  []mark // the nested messages, marks[:nmarks], in the order they start
	nmarks int
	extra  int // the bytes of the tags and lengths of the messages closed
}

// mark is where a nested message starts in the content, its tag and its
// length.
type mark struct {
	pos    int
	tag    uint64
	length int
}

// frame is an open nested message.
type frame struct {
	mark  int
	extra int
}

// reserve makes room for k more bytes.
func (w *wireWriter) reserve(k int) {
	if w.n+k <= len(w.buf) {
		return
	}
	grown := make([]byte, max(2*len(w.buf), w.n+k, 4096))
	copy(grown, w.buf[:w.n])
	w.buf = grown
}

// open starts a nested message at the end of the content.
func (w *wireWriter) open() frame {
	if w.nmarks == len(w.marks) {
		grown := make([]mark, max(2*len(w.marks), 64))
		copy(grown, w.marks)
		w.marks = grown
	}
	w.marks[w.nmarks] = mark{pos: w.n}
	w.nmarks++
	return frame{mark: w.nmarks - 1, extra: w.extra}
}

// close ends the nested message f as field num: its length is what was
// written since it was opened, with the tags and lengths of the messages
// within it.
func (w *wireWriter) close(f frame, num protowire.Number) {
	m := &w.marks[f.mark]
	m.tag = uint64(protowire.EncodeTag(num, protowire.BytesType))
	m.length = w.n - m.pos + w.extra - f.extra
	w.extra += protowire.SizeVarint(m.tag) + protowire.SizeVarint(uint64(m.length))
}

// size is the size of the encoding.
func (w *wireWriter) size() int { return w.n + w.extra }

// assemble appends the encoding to dst: the content, with each nested
// message's tag and length before it.
func (w *wireWriter) assemble(dst []byte) []byte {
	prev := 0
	for _, m := range w.marks[:w.nmarks] {
		dst = append(dst, w.buf[prev:m.pos]...)
		dst = appendVarint(dst, m.tag)
		dst = appendVarint(dst, uint64(m.length))
		prev = m.pos
	}
	return append(dst, w.buf[prev:w.n]...)
}

// varint writes v as a varint.
func (w *wireWriter) varint(v uint64) {
	w.reserve(binary.MaxVarintLen64)
	b := w.buf[w.n:]
	i := 0
	for ; v >= 0x80; i++ {
		b[i] = byte(v) | 0x80
		v >>= 7
	}
	b[i] = byte(v)
	w.n += i + 1
}

func (w *wireWriter) tag(num protowire.Number, typ protowire.Type) {
	w.varint(uint64(protowire.EncodeTag(num, typ)))
}

// byte writes c.
func (w *wireWriter) byte(c byte) {
	w.reserve(1)
	w.buf[w.n] = c
	w.n++
}

// raw writes b as it is.
func (w *wireWriter) raw(b ...byte) {
	w.reserve(len(b))
	w.n += copy(w.buf[w.n:], b)
}

func (w *wireWriter) fixed32(v uint32) {
	w.reserve(4)
	binary.LittleEndian.PutUint32(w.buf[w.n:], v)
	w.n += 4
}

func (w *wireWriter) fixed64(v uint64) {
	w.reserve(8)
	binary.LittleEndian.PutUint64(w.buf[w.n:], v)
	w.n += 8
}

func (w *wireWriter) bytes(num protowire.Number, b []byte) {
	tag := uint64(protowire.EncodeTag(num, protowire.BytesType))
	if tag < 0x80 && len(b) < 0x80 {
		// A field numbered below 16 and fewer than 128 bytes: most
		// strings, a byte each for the tag and the length.
		w.reserve(2 + 16 + len(b))
		w.buf[w.n], w.buf[w.n+1] = byte(tag), byte(len(b))
		if len(b) <= 16 && cap(b) >= 16 {
			// Two words copied, whatever their bytes past b's end: the
			// next write overwrites them.
			b16, dst := b[:16], w.buf[w.n+2:w.n+18]
			binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(b16))
			binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(b16[8:]))
			w.n += 2 + len(b)
			return
		}
		w.n += 2 + copy(w.buf[w.n+2:], b)
		return
	}
	w.varint(tag)
	w.varint(uint64(len(b)))
	w.raw(b...)
}

// deeper counts a level of nesting, giving up beyond the bound.
func (t *transcoder) deeper() bool {
	t.depth++
	if t.depth > maxTranscodeDepth {
		t.giveUp()
		return false
	}
	return true
}

// field writes the value of the property at the cursor as fp's field. A
// null leaves the field unset, as the decoder's does.
func (t *transcoder) field(fp *fieldPlan) {
	d := &t.d
	if fp.str && d.pos < len(d.data) && d.data[d.pos] == '"' {
		// The most common value, written as scalar writes it, in fewer
		// calls.
		if t.json {
			t.key(fp.jsonKey)
		}
		t.text(d.rawString(), fp.num, fp.presence)
		return
	}
	if d.next() == 'n' {
		d.literal("null")
		if fp.tagged >= 0 {
			t.giveUp() // the decoder clears the oneof only if it holds this field
		}
		return
	}
	if t.json {
		t.key(fp.jsonKey)
	}
	num := fp.num
	switch {
	case fp.isMap:
		t.mapField(fp)
	case fp.list:
		t.list(fp)
	case fp.value.msg != nil:
		t.nested(fp.value.msg, num)
	default:
		t.scalar(&fp.value, num, fp.presence)
	}
}

// nested writes the value at the cursor as pl's message, field num.
func (t *transcoder) nested(pl *plan, num protowire.Number) {
	if t.json {
		t.message(pl)
		return
	}
	f := t.w.open()
	t.message(pl)
	t.w.close(f, num)
}

// list writes a JSON array as a repeated field: messages and strings one
// record each, numbers, booleans and enums packed.
func (t *transcoder) list(fp *fieldPlan) {
	d := &t.d
	if !t.want('[', "an array") {
		return
	}
	num := fp.num
	el := fp.value.msg
	packed := el == nil && fp.value.kind != protoreflect.StringKind && !t.json
	t.open('[')
	var f frame
	n := 0
	for first := true; d.element(&first); n++ {
		if d.next() == 'n' { // the decoder's zero or empty element
			t.giveUp()
			return
		}
		switch {
		case el != nil:
			t.nested(el, num)
		case packed:
			if n == 0 {
				f = t.w.open()
			}
			t.packed(&fp.value)
		default:
			t.scalar(&fp.value, num, true)
		}
		if t.failed() {
			return
		}
	}
	if packed && n > 0 {
		t.w.close(f, num)
	}
	t.close(']')
}

// mapField writes a JSON object as a map field, an entry per property.
func (t *transcoder) mapField(fp *fieldPlan) {
	d := &t.d
	if !t.want('{', "an object") {
		return
	}
	num := fp.num
	el := fp.value.msg
	// The decoder merges a message given twice under one key, which the
	// binary encoding would replace; proto JSON allows a key once.
	var keys map[string]struct{}
	if el != nil || t.json {
		keys = t.keySet()
	}
	t.open('{')
	for first := true; d.member(&first); {
		if keys != nil && !t.once(keys) {
			return
		}
		if d.next() == 'n' {
			t.giveUp()
			return
		}
		var entry frame
		if t.json {
			t.mapKey(d.key())
		} else {
			entry = t.w.open()
			t.w.bytes(1, d.key())
		}
		if el != nil {
			t.nested(el, 2)
		} else {
			t.scalar(&fp.value, 2, true)
		}
		if !t.json {
			t.w.close(entry, num)
		}
		if t.failed() {
			return
		}
	}
	t.close('}')
}

// keySet returns the set of the keys of the map or object open at this
// depth, empty: each has a set of its own.
func (t *transcoder) keySet() map[string]struct{} {
	for len(t.keys) <= t.depth {
		t.keys = append(t.keys, nil)
	}
	if t.keys[t.depth] == nil {
		t.keys[t.depth] = map[string]struct{}{}
	}
	keys := t.keys[t.depth]
	clear(keys)
	return keys
}

// once adds the current property's name to keys, and reports whether it
// was not there; else it gives up.
func (t *transcoder) once(keys map[string]struct{}) bool {
	key := t.d.str(t.d.key())
	if _, dup := keys[key]; dup {
		t.giveUp()
		return false
	}
	keys[key] = struct{}{}
	return true
}

// message writes the value at the cursor as pl's message's content: an
// object, a well-known type's JSON form, or a wrapper's one field's value.
func (t *transcoder) message(pl *plan) {
	if !t.deeper() {
		return
	}
	defer func() { t.depth-- }()
	switch pl.wkt {
	case wktTimestamp:
		t.timestamp()
		return
	case wktStruct:
		if !t.want('{', "an object") {
			return
		}
		t.open('{')
		t.structFields()
		t.close('}')
		return
	case wktValue:
		t.jsonValue()
		return
	}
	if pl.wrapper != nil {
		t.open('{')
		t.field(pl.wrapper)
		t.close('}')
		return
	}
	if !t.want('{', "an object") {
		return
	}
	t.open('{')
	switch start, base := t.d.pos, len(t.trail); {
	case pl.untagged != nil:
		t.untagged(pl)
	case !t.byShape(pl):
		t.checkOneofs(pl, t.properties(pl))
		if t.failed() {
			t.trail = t.trail[:base]
		} else {
			t.remember(pl, start, nil, base)
		}
	}
	t.close('}')
}

// properties writes the properties of the object at the cursor that are
// fields of pl, and skips the others. It returns the tagged oneofs given,
// a bit each.
func (t *transcoder) properties(pl *plan) uint64 {
	d := &t.d
	var seen [maxTranscodeFields / 64]uint64
	var oneofs uint64
	hint := 0
	rec := t.recording()
	for first := true; ; {
		sep := d.pos
		fp, exact, ok := d.property(&first, pl, &hint)
		if !ok {
			break
		}
		note := 0
		if rec {
			note = t.noteName(fp, exact, sep)
		}
		if fp == nil {
			d.skip()
		} else {
			if !t.first(fp, &seen, &oneofs) {
				break
			}
			t.field(fp)
		}
		if rec {
			t.noteEnd(note)
		}
	}
	return oneofs
}

// first notes that fp's property was given, and reports whether it is the
// first time, for fp and for its oneof; else it gives up: the decoder
// would replace, merge or clear what the encoding holds.
func (t *transcoder) first(fp *fieldPlan, seen *[maxTranscodeFields / 64]uint64, oneofs *uint64) bool {
	word, bit := &seen[fp.index/64], uint64(1)<<(fp.index%64)
	if *word&bit != 0 {
		t.giveUp()
		return false
	}
	*word |= bit
	if fp.tagged >= 0 {
		if *oneofs&(1<<fp.tagged) != 0 {
			t.giveUp()
			return false
		}
		*oneofs |= 1 << fp.tagged
	}
	return true
}

// checkOneofs gives up unless each tagged oneof of pl was given: the
// decoder would fail.
func (t *transcoder) checkOneofs(pl *plan, oneofs uint64) {
	if !t.failed() && oneofs != 1<<len(pl.tagged)-1 {
		t.giveUp()
	}
}

// untagged writes an object, whose '{' is at the cursor, that holds one of
// pl's untagged variants: the variant's properties as its message, in a
// first pass over the object, then pl's own properties, in a second pass
// made only if the first met any.
//
// Which variant the object holds depends on all its properties, so the
// first pass guesses it from the first property's name and notes the
// required properties it meets. When the guess proves wrong, the pass is
// undone and made again by the variant the notes choose; when reading by
// the guess fails, the decoder's look-ahead chooses the variant instead.
func (t *transcoder) untagged(pl *plan) {
	d, o := &t.d, pl.untagged
	if len(pl.fields) == 0 && t.byShape(pl) {
		return
	}
	start, saved, base := d.pos, t.save(), len(t.trail)
	var variant *variantPlan
	var f frame
	own, written := false, false
	if o.guessable {
		f = t.frame()
		var ev evidence
		guessed, guessedOwn := t.variantFields(pl, nil, &ev)
		chosen := o.choose(&ev.found, &ev.have)
		switch {
		case t.failed() || ev.again || chosen == nil:
			t.restore(start, saved) // the look-ahead chooses, below
		case guessed != nil && guessed != chosen:
			t.restore(start, saved) // written again by the variant chosen, below
			variant = chosen
		default:
			variant, own, written = chosen, guessedOwn, true
			if guessed == nil { // an empty object
				t.beginVariant(variant)
			}
		}
	}
	if variant == nil {
		if variant = d.chooseVariant(o); variant == nil {
			t.giveUp()
			return
		}
	}
	if !written {
		f = t.frame()
		_, own = t.variantFields(pl, variant, nil)
	}
	if t.json {
		t.close('}')
	} else {
		t.w.close(f, variant.num)
	}
	if len(pl.fields) == 0 && !t.failed() {
		t.remember(pl, start, variant, base)
	}
	t.trail = t.trail[:base]
	var oneofs uint64
	if own && !t.failed() {
		end := d.pos
		d.pos = start
		oneofs = t.properties(pl)
		if d.pos != end && !t.failed() {
			t.giveUp()
		}
	}
	t.checkOneofs(pl, oneofs)
}

// evidence is what a pass over an untagged oneof's object noted of the
// variants' required properties: which it met, with their JSON types, and
// whether it met one again (the decoder's look-ahead would stop at the
// first variant to fit, and so might choose another).
type evidence struct {
	found [maxRequired]jsonType
	have  [maxRequired]bool
	again bool
}

// note notes the property at the cursor, the required property i of the
// oneof, whose value starts with c and ends at d.pos.
func (ev *evidence) note(i int, c byte, lit []byte) {
	switch {
	case i < 0 || c == 'n': // null is absent
	case ev.have[i]:
		ev.again = true
	default:
		ev.found[i], ev.have[i] = jsonTypeAt(c, lit), true
	}
}

// variantFields writes the properties of the object at the cursor that are
// fields of variant, and skips the others, reporting whether any was one
// of pl's own. With variant nil it reads by the variant its first
// property suggests, and returns that (nil for an empty object); with ev,
// it notes there the required properties it meets.
func (t *transcoder) variantFields(pl *plan, variant *variantPlan, ev *evidence) (*variantPlan, bool) {
	d, o := &t.d, pl.untagged
	var seen [maxTranscodeFields / 64]uint64
	var unused uint64
	own := false
	hint, vhint := 0, 0
	if variant != nil {
		t.beginVariant(variant)
	}
	rec := t.recording() && len(pl.fields) == 0
loop:
	for first := true; ; {
		var fp *fieldPlan
		exact, ok, sep := false, false, d.pos
		switch {
		case len(pl.fields) > 0:
			if ok = d.member(&first); !ok {
				break loop
			}
			if variant == nil {
				variant = o.guess(d.key())
				t.beginVariant(variant)
			}
			if pl.lookupFrom(d.key(), &hint) != nil {
				own = true
			} else {
				fp = variant.msg.lookupFrom(d.key(), &vhint)
			}
		case variant == nil:
			if variant, fp, exact, ok = d.firstProperty(o, &first, &vhint); !ok {
				break loop
			}
			t.beginVariant(variant)
		default:
			if fp, exact, ok = d.property(&first, variant.msg, &vhint); !ok {
				break loop
			}
		}
		note := 0
		if rec {
			note = t.noteName(fp, exact, sep)
		}
		if fp == nil {
			if ev == nil {
				d.skip()
			} else {
				i := o.requiredIndex(d.key())
				c := d.next()
				at := d.pos
				d.skip()
				ev.note(i, c, d.data[at:d.pos])
			}
			if rec {
				t.noteEnd(note)
			}
			continue
		}
		if !t.first(fp, &seen, &unused) {
			break
		}
		i := -1
		if ev != nil && int(fp.num) < len(variant.requiredOf) {
			// The look-ahead matches names exactly: a name matched
			// case-insensitively is not the required one (nor another
			// variant's, see oneofPlan.finish).
			if i = variant.requiredOf[fp.num]; i >= 0 && !exact && o.required[i] != string(d.key()) {
				i = -1
			}
		}
		if i < 0 {
			t.field(fp)
		} else {
			c := d.next()
			at := d.pos
			t.field(fp)
			ev.note(i, c, d.data[at:d.pos])
		}
		if rec {
			t.noteEnd(note)
		}
	}
	return variant, own
}

// firstProperty reads the name of the first property of an object of o,
// in a plan with no fields of its own, and returns the variant guessed by
// it (see oneofPlan.guess) and the variant's field so named, as property
// does. It compares the names of the guesses' fields with the input's
// bytes first. The variant is nil for an empty object.
func (d *decoder) firstProperty(o *oneofPlan, first *bool, hint *int) (variant *variantPlan, fp *fieldPlan, exact, ok bool) {
	if !d.toKey(first) {
		return nil, nil, false, false
	}
	if i, ok := d.match(o.guessFields); i >= 0 {
		fp = o.guessFields[i]
		*hint = fp.index + 1
		return o.guessVariants[i], fp, true, ok
	}
	d.name()
	if !d.colon() {
		return nil, nil, false, false
	}
	variant = o.guess(d.key())
	return variant, variant.msg.lookupFrom(d.key(), hint), false, true
}

// frame opens a nested message in the binary encoding; proto JSON has
// none.
func (t *transcoder) frame() frame {
	if t.json {
		return frame{}
	}
	return t.w.open()
}

// beginVariant starts writing the object's properties as variant's: in
// proto JSON, the variant's field holds them.
func (t *transcoder) beginVariant(variant *variantPlan) {
	if t.json {
		t.key(variant.jsonKey)
		t.open('{')
	}
}

// saved is what restore puts back.
type saved struct {
	n, nmarks, extra     int
	depth, tdepth, stack int
	trail                int
	comma                bool
}

// save notes the transcoder's state, for restore.
func (t *transcoder) save() saved {
	return saved{n: t.w.n, nmarks: t.w.nmarks, extra: t.w.extra, depth: t.d.depth, tdepth: t.depth, stack: len(t.d.stack), trail: len(t.trail), comma: t.comma}
}

// restore undoes what was read and written since save, back to the cursor
// at pos, and forgets a failure.
func (t *transcoder) restore(pos int, s saved) {
	t.w.n, t.w.nmarks, t.w.extra = s.n, s.nmarks, s.extra
	t.d.depth, t.depth, t.d.stack = s.depth, s.tdepth, t.d.stack[:s.stack]
	t.d.pos, t.d.err, t.bail = pos, nil, false
	t.trail = t.trail[:s.trail]
	t.comma = s.comma
}

// scalar writes a value that is not a message as field num; a zero value
// only with presence.
func (t *transcoder) scalar(v *valuePlan, num protowire.Number, presence bool) {
	d, w := &t.d, &t.w
	if v.kind == protoreflect.StringKind {
		if !t.want('"', "a string") {
			return
		}
		t.text(d.rawString(), num, presence)
		return
	}
	if t.json {
		t.jsonNumber(v)
		return
	}
	at := w.n
	w.tag(num, wireType(v.kind))
	if !t.packed(v) {
		w.n = at
		return
	}
	if !presence && isZero(w.buf[at:w.n], v.kind) {
		w.n = at
	}
}

// text writes b, a string the decoder read, as field num; an empty one
// only with presence.
func (t *transcoder) text(b []byte, num protowire.Number, presence bool) {
	switch {
	case t.d.err != nil:
	case t.json:
		t.str(b)
	case len(b) > 0 || presence:
		t.w.bytes(num, b)
	}
}

func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.FloatKind:
		return protowire.Fixed32Type
	}
	return protowire.VarintType
}

// isZero reports whether a record's value, the last bytes of rec, is zero.
func isZero(rec []byte, k protoreflect.Kind) bool {
	switch k {
	case protoreflect.DoubleKind:
		return string(rec[len(rec)-8:]) == "\x00\x00\x00\x00\x00\x00\x00\x00"
	case protoreflect.FloatKind:
		return string(rec[len(rec)-4:]) == "\x00\x00\x00\x00"
	}
	return rec[len(rec)-1] == 0 // a varint ending in 0 is zero
}

// packed writes a number, boolean or enum value without a tag. It reports
// false when it gave up.
func (t *transcoder) packed(v *valuePlan) bool {
	bits, ok := t.number(v)
	if !ok {
		return false
	}
	w := &t.w
	switch v.kind {
	case protoreflect.BoolKind:
		w.raw(byte(bits))
	case protoreflect.FloatKind:
		w.fixed32(uint32(bits))
	case protoreflect.DoubleKind:
		w.fixed64(bits)
	default:
		w.varint(bits)
	}
	return true
}

// number reads a number, boolean or enum value: its bits, as a varint or a
// fixed-size record holds them. It reports false when it gave up.
func (t *transcoder) number(v *valuePlan) (uint64, bool) {
	d := &t.d
	var bits uint64
	switch v.kind {
	case protoreflect.BoolKind:
		switch d.next() {
		case 't':
			d.literal("true")
			bits = 1
		case 'f':
			d.literal("false")
		default:
			t.giveUp()
		}
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
		if v.kind == protoreflect.Int64Kind {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		n, ok := d.integer(lo, hi, "")
		if !ok {
			t.giveUp()
			return 0, false
		}
		bits = uint64(n)
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f, ok := d.float()
		if !ok {
			t.giveUp()
			return 0, false
		}
		if v.kind == protoreflect.FloatKind {
			bits = uint64(math.Float32bits(float32(f)))
		} else {
			bits = math.Float64bits(f)
		}
	case protoreflect.EnumKind:
		if !t.want('"', "a string") {
			return 0, false
		}
		b := d.rawString()
		n, known := v.enum.byREST[string(b)]
		if !known && len(b) > 0 { // reported by the decoder
			t.giveUp()
			return 0, false
		}
		bits = uint64(int64(n))
	default:
		t.giveUp()
	}
	return bits, !t.failed()
}

// timestamp writes an RFC 3339 string as a Timestamp's content.
func (t *transcoder) timestamp() {
	ts, ok := t.d.timestampValue()
	if !ok {
		t.giveUp()
		return
	}
	if t.json {
		t.jsonTimestamp(ts.Seconds, ts.Nanos)
		return
	}
	if ts.Seconds != 0 {
		t.w.tag(1, protowire.VarintType)
		t.w.varint(uint64(ts.Seconds))
	}
	if ts.Nanos != 0 {
		t.w.tag(2, protowire.VarintType)
		t.w.varint(uint64(ts.Nanos))
	}
}

// structFields writes the members of an object, whose '{' is at the
// cursor, as a Struct's content: an entry of its fields map each. A key
// given twice is written twice; the last wins, as in the decoder's map.
func (t *transcoder) structFields() {
	if !t.deeper() {
		return
	}
	d := &t.d
	if t.json {
		// Proto JSON allows a key once.
		keys := t.keySet()
		for first := true; d.member(&first); {
			if !t.once(keys) {
				return
			}
			t.mapKey(d.key())
			t.jsonValue()
		}
		t.depth--
		return
	}
	for first := true; d.member(&first); {
		entry := t.w.open()
		t.w.bytes(1, d.key()) // before the value, which may reuse the key's buffer
		value := t.w.open()
		t.jsonValue()
		t.w.close(value, 2)
		t.w.close(entry, 1)
	}
	t.depth--
}

// jsonValue writes any JSON value as a Value's content.
func (t *transcoder) jsonValue() {
	if t.json {
		t.jsonAny()
		return
	}
	d, w := &t.d, &t.w
	switch c := d.next(); c {
	case '{':
		f := w.open()
		t.structFields()
		w.close(f, 5)
	case '[':
		if !t.deeper() {
			return
		}
		list := w.open()
		for first := true; d.element(&first); {
			f := w.open()
			t.jsonValue()
			w.close(f, 1)
		}
		w.close(list, 6)
		t.depth--
	case '"':
		b := d.rawString()
		w.bytes(3, b)
	case 't':
		d.literal("true")
		w.raw(4<<3, 1)
	case 'f':
		d.literal("false")
		w.raw(4<<3, 0)
	case 'n':
		d.literal("null")
		w.raw(1<<3, 0)
	case 0:
		t.giveUp()
	default:
		f, ok := d.float()
		if !ok {
			t.giveUp()
			return
		}
		w.tag(2, protowire.Fixed64Type)
		w.fixed64(math.Float64bits(f))
	}
}

// appendVarint is protowire.AppendVarint with the one-byte case inlined:
// most tags and lengths.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}
