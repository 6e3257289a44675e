package translate

import "unsafe"

// This file is the transcoder's shortcut for the objects of an untagged
// oneof, which come by the thousand in lists, most of them alike: the same
// properties in the same order, with values of the same JSON types.
//
// transcoder.untagged reads the first such object the long way: it guesses
// the variant, notes the required properties it meets, checks each
// property is given once, and so on. It then remembers the object's shape:
// the variant chosen, and for each property its field and the JSON type of
// its value. A later object of the same oneof whose bytes show that shape
// (each name quoted right after the '{' or the comma before it, and
// followed by its colon) is written by the shape alone. Its variant is the
// shape's, since the variant depends only on which required properties an
// object gives and with which JSON types; no property is given twice, since
// the shape's are distinct. Any difference, or a value the field cannot
// take, undoes what the shape wrote and leaves the object to the long way.

// shape is the shape of an object of oneof o (see above).
type shape struct {
	o       *oneofPlan
	variant *variantPlan
	props   []shapeProp
}

// shapeProp is a property of a shape: its field and, for a property one of
// the variants requires, the JSON type its value must have.
type shapeProp struct {
	fp       *fieldPlan
	required bool
	typ      jsonType
}

const (
	// maxShapes bounds the shapes a transcoder remembers, across the
	// bodies it transcodes: a shape depends on the plans alone.
	maxShapes = 8
	// maxShapeProps bounds the properties of a shape.
	maxShapeProps = 32
	// maxShapeMisses bounds, per body, the objects read the long way that
	// are checked for a shape to remember: compact JSON of a few shapes
	// needs a few, and other JSON (with white space, or properties no
	// field is for) would pay for the check on every object.
	maxShapeMisses = 16
)

// typeOf is the JSON type of the value lit, which starts with c, as a
// shape notes it.
func typeOf(c byte, lit []byte) jsonType {
	if c == 'n' {
		return jsonNull
	}
	return jsonTypeAt(c, lit)
}

// byShape writes the object at the cursor, of pl's untagged oneof o, by a
// shape remembered, reporting whether one fitted. The shapes are tried
// from the one that fitted last: one shape may start as another does, and
// be tried in vain up to where they differ. (t.order moves, not the shapes,
// whose pointers would cost write barriers.)
func (t *transcoder) byShape(o *oneofPlan) bool {
	for k, i := range t.order[:len(t.shapes)] {
		if s := &t.shapes[i]; s.o == o && t.d.startsWith('{', s.props[0].fp.jsonKey) && t.shaped(s) {
			copy(t.order[1:k+1], t.order[:k])
			t.order[0] = i
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
	f := t.frame()
	t.beginVariant(s.variant)
	for i := range s.props {
		p := &s.props[i]
		key := p.fp.jsonKey
		if i > 0 && !d.startsWith(',', key) {
			t.restore(start, saved)
			return false
		}
		d.pos += len(key)
		if p.fp.str && d.pos < len(d.data) && d.data[d.pos] == '"' {
			if p.required && p.typ != jsonString {
				t.restore(start, saved)
				return false
			}
			if t.json {
				t.key(key)
			}
			t.text(d.rawString(), p.fp.num, p.fp.presence)
			continue
		}
		c := d.next()
		v := d.pos
		t.field(p.fp)
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
	if t.json {
		t.close('}')
	} else {
		t.w.close(f, s.variant.num)
	}
	return true
}

// startsWith reports whether the input at the cursor is sep followed by
// key after its first byte: a property's name as the input gives it, quoted
// and followed by its colon, is its jsonKey after the comma, when the name
// is plain (see shapeOf).
func (d *decoder) startsWith(sep byte, key []byte) bool {
	at := d.pos
	return at+len(key) <= len(d.data) && d.data[at] == sep && string(d.data[at+1:at+len(key)]) == string(key[1:])
}

// remember notes the shape of the object from start to the cursor, which
// untagged has just written as variant's, if it has one: compact, with
// every property a field of the variant's whose name is plain.
func (t *transcoder) remember(o *oneofPlan, start int, variant *variantPlan) {
	if t.shapeMisses >= maxShapeMisses {
		return
	}
	t.shapeMisses++
	d := &t.d
	end, depth := d.pos, d.depth
	ok := t.shapeOf(o, start, variant)
	ok = ok && d.pos == end && d.err == nil
	d.pos, d.depth, d.err = end, depth, nil
	if !ok {
		return
	}
	// The slot of the shape remembered first is taken over, and its
	// props' array reused.
	var s *shape
	if n := len(t.shapes); n < maxShapes {
		t.shapes = append(t.shapes, shape{})
		s = &t.shapes[n]
		t.order[n] = uint8(n)
	} else {
		s = &t.shapes[t.nextShape]
		t.nextShape = (t.nextShape + 1) % maxShapes
	}
	*s = shape{o: o, variant: variant, props: append(s.props[:0], t.shapeProps...)}
}

// shapeOf reads the object at start again, as untagged has read it, and
// leaves its shape's properties in t.shapeProps; it reports false if it has
// none (see remember).
func (t *transcoder) shapeOf(o *oneofPlan, start int, variant *variantPlan) bool {
	d := &t.d
	data := d.data
	t.shapeProps = t.shapeProps[:0]
	d.pos = start + 1 // '{'
	for {
		if d.pos >= len(data) || data[d.pos] != '"' || len(t.shapeProps) == maxShapeProps {
			return false
		}
		nameAt := d.pos + 1
		name := d.rawString()
		if len(name) == 0 || unsafe.SliceData(name) != &data[nameAt] || d.pos >= len(data) || data[d.pos] != ':' {
			return false // escaped, or not followed by its colon
		}
		fp := variant.msg.byName[string(name)]
		if fp == nil || !fp.plain {
			return false
		}
		d.pos++
		c := d.next()
		v := d.pos
		d.skip()
		if d.err != nil || d.pos >= len(data) {
			return false
		}
		t.shapeProps = append(t.shapeProps, shapeProp{fp: fp, required: o.requiredIndex(name) >= 0, typ: typeOf(c, data[v:d.pos])})
		switch data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			return false
		}
	}
}
