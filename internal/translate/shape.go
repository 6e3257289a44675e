package translate

import "slices"

// This file is the transcoder's shortcut for objects alike, which come by
// the thousand in lists: the same properties in the same order, with values
// of the same JSON types.
//
// The transcoder reads the first object of a message the long way: each
// name is looked up, matched exactly or else case-insensitively, checked
// not to be given twice; for an untagged oneof, the variant is guessed, the
// required properties noted and the guess checked. It then remembers the
// object's shape: for each property, the field it is (or none, for a
// property skipped), with, for an untagged oneof, the variant chosen and
// the JSON type of each value some variant requires. A later object of the
// message whose bytes show that shape (each name quoted right after the
// '{' or the comma before it, and followed by its colon) is written by the
// shape alone. It holds the shape's variant, since the variant depends
// only on which required properties an object gives and with which JSON
// types; it gives no field twice and every oneof the shape gave, since it
// gives the shape's fields. Any difference, or a value its field cannot
// take, undoes what the shape wrote and leaves the object to the long way.

// shape is the shape of an object of a message (see above).
type shape struct {
	variant *variantPlan // for a message with an untagged oneof
	props   []shapeProp
}

// shapeProp is a property of a shape: its field, or nil for one skipped;
// its name as the input gives it, quoted and followed by its colon, after a
// comma; and, for a property some variant of an untagged oneof requires,
// the JSON type its value must have.
type shapeProp struct {
	fp       *fieldPlan
	key      []byte
	required bool
	typ      jsonType
}

// planShapes are the shapes a transcoder remembers of one message's
// objects, and the order they are tried in: from the one that fitted last,
// since one shape may start as another does, and be tried in vain up to
// where they differ. The order moves, not the shapes, whose pointers would
// cost write barriers while the collector runs.
type planShapes struct {
	shapes [maxPlanShapes]shape
	n      uint8
	order  [maxPlanShapes]uint8
	next   uint8 // the slot the next shape takes once all are taken
}

const (
	// maxPlanShapes bounds the shapes a transcoder remembers of one
	// message, across the bodies it transcodes: a shape depends on the
	// plans alone.
	maxPlanShapes = 8
	// maxShapeProps bounds the properties of a shape, and maxSkippedName
	// the length of the name of a property skipped that a shape keeps.
	maxShapeProps  = 64
	maxSkippedName = 128
	// maxShapeMisses bounds, per body, the objects read the long way that
	// are read again for a shape to remember: compact JSON needs one per
	// message and shape, and other JSON (with white space, or names
	// escaped) would pay for it on every object.
	maxShapeMisses = 64
)

// typeOf is the JSON type of the value lit, which starts with c, as a
// shape notes it.
func typeOf(c byte, lit []byte) jsonType {
	if c == 'n' {
		return jsonNull
	}
	return jsonTypeAt(c, lit)
}

// byShape writes the object at the cursor, of pl's message, by a shape
// remembered, reporting whether one fitted.
func (t *transcoder) byShape(pl *plan) bool {
	if pl.id >= len(t.shapes) {
		return false
	}
	set := &t.shapes[pl.id]
	for k, i := range set.order[:set.n] {
		if s := &set.shapes[i]; t.d.startsWith('{', s.props[0].key) && t.shaped(s) {
			copy(set.order[1:k+1], set.order[:k])
			set.order[0] = i
			return true
		}
	}
	return false
}

// shaped writes the object at the cursor by s, or, if it does not fit,
// undoes what it wrote and reports false. The object's '{' and first name
// are s's (see byShape).
func (t *transcoder) shaped(s *shape) bool {
	d := &t.d
	start, saved := d.pos, t.save()
	var f frame
	if s.variant != nil {
		f = t.frame()
		t.beginVariant(s.variant)
	}
	for i := range s.props {
		p := &s.props[i]
		if i > 0 && !d.startsWith(',', p.key) {
			t.restore(start, saved)
			return false
		}
		d.pos += len(p.key)
		fp := p.fp
		if fp != nil && fp.str && d.pos < len(d.data) && d.data[d.pos] == '"' {
			if p.required && p.typ != jsonString {
				t.restore(start, saved)
				return false
			}
			if t.json {
				t.key(p.key)
			}
			t.text(d.rawString(), fp.num, fp.presence)
			continue
		}
		c := d.next()
		v := d.pos
		if fp == nil {
			d.skip()
		} else {
			t.field(fp)
		}
		if t.failed() || p.required && typeOf(c, d.data[v:d.pos]) != p.typ {
			t.restore(start, saved)
			return false
		}
	}
	if t.failed() || d.pos >= len(d.data) || d.data[d.pos] != '}' {
		t.restore(start, saved)
		return false
	}
	d.pos++
	if s.variant != nil {
		if t.json {
			t.close('}')
		} else {
			t.w.close(f, s.variant.num)
		}
	}
	return true
}

// startsWith reports whether the input at the cursor is sep followed by
// key after its first byte: a property's name as the input gives it, quoted
// and followed by its colon, is its jsonKey after the comma, when the name
// is plain (see remember).
func (d *decoder) startsWith(sep byte, key []byte) bool {
	at := d.pos
	return at+len(key) <= len(d.data) && d.data[at] == sep && string(d.data[at+1:at+len(key)]) == string(key[1:])
}

// trailProp is a property of an object read the long way, noted for
// remember: its field, or nil for one skipped; where the separator before
// its name is, where its colon ends and where its value ends; and whether
// its name is given as it is (no escape, no white space, the field's name
// exactly).
type trailProp struct {
	fp               *fieldPlan
	sep, keyEnd, end int
	tight            bool
}

// recording reports whether the long way notes the properties it reads in
// t.trail, for remember.
func (t *transcoder) recording() bool { return t.shapeMisses < maxShapeMisses }

// noteName notes the property whose name the decoder has just read after
// the separator at sep, as fp's; exact says that the name is fp's exactly.
// It returns the note's index in t.trail, for noteEnd.
func (t *transcoder) noteName(fp *fieldPlan, exact bool, sep int) int {
	d := &t.d
	tight := sep < len(d.data) && (d.data[sep] == ',' || d.data[sep] == '{') && !d.keyInBuf && d.pos-sep == d.keyLen+4
	if fp != nil {
		tight = tight && fp.plain && (exact || string(d.key()) == fp.name)
	}
	t.trail = append(t.trail, trailProp{fp: fp, sep: sep, keyEnd: d.pos, tight: tight})
	return len(t.trail) - 1
}

// noteEnd notes that the value of the property noted at i ends at the
// cursor, and drops the notes made of the objects within it.
func (t *transcoder) noteEnd(i int) {
	t.trail[i].end = t.d.pos
	t.trail = t.trail[:i+1]
}

// remember notes the shape of the object of pl's message from start to the
// cursor, which the long way has just written (as variant's, for an
// untagged oneof), from the properties it noted in t.trail[base:], if the
// object has one: compact, each name as the input gives it a field's
// exactly or none's. It then drops those notes.
func (t *transcoder) remember(pl *plan, start int, variant *variantPlan, base int) {
	trail := t.trail[base:]
	t.trail = t.trail[:base]
	if !t.recording() || len(trail) == 0 || len(trail) > maxShapeProps {
		return
	}
	t.shapeMisses++
	data := t.d.data
	at := start
	for _, p := range trail {
		if !p.tight || p.sep != at || p.fp == nil && p.keyEnd-p.sep > maxSkippedName {
			return
		}
		at = p.end
	}
	if at+1 != t.d.pos || data[at] != '}' {
		return
	}
	for len(t.shapes) <= pl.id {
		t.shapes = append(t.shapes, planShapes{})
	}
	set := &t.shapes[pl.id]
	i := set.n
	if i < maxPlanShapes {
		set.order[i] = i
		set.n++
	} else {
		i = set.next
		set.next = (set.next + 1) % maxPlanShapes
	}
	s := &set.shapes[i]
	props := s.props[:0]
	for _, p := range trail {
		q := shapeProp{fp: p.fp}
		if p.fp != nil {
			q.key = p.fp.jsonKey
		} else {
			q.key = slices.Clone(data[p.sep:p.keyEnd]) // the body's bytes
		}
		if o := pl.untagged; o != nil && o.requiredIndex(q.key[2:len(q.key)-2]) >= 0 {
			v := p.keyEnd
			for v < p.end && data[v] <= ' ' {
				v++
			}
			q.required, q.typ = true, typeOf(data[v], data[v:p.end])
		}
		props = append(props, q)
	}
	*s = shape{variant: variant, props: props}
}
