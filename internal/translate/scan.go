package translate

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file is the JSON scanner the decoder reads with: one pass over the
// bytes, strings returned as slices of the input where they need no
// unescaping, and the rules of encoding/json: property names match exactly
// or else case-insensitively, invalid UTF-8 becomes U+FFFD, a lone
// surrogate escape becomes U+FFFD, nesting is bounded.

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

type decoder struct {
	data  []byte
	pos   int
	err   error
	depth int
	// The current property's name (see member): d.data[keyAt:keyAt+keyLen],
	// or d.buf[:keyLen] when it had escapes. Offsets and not a slice:
	// storing a slice costs a write barrier while the collector runs.
	keyAt, keyLen int
	keyInBuf      bool
	buf           []byte           // scratch for strings with escapes
	stack         []pathElem       // where the value being decoded is
	ptrs          []unsafe.Pointer // the elements of the lists being read (see fieldAt)
	unknownEnum   func(path, value string)
}

func (d *decoder) fail(reason string) {
	if d.err == nil {
		where := d.where()
		if where == "" {
			where = "(body)"
		}
		d.err = &InvalidError{Path: where, Reason: reason}
	}
	d.pos = len(d.data) // stop
}

func (d *decoder) syntax(what string) {
	d.fail("malformed JSON at byte " + strconv.Itoa(d.pos) + ": " + what)
}

// next skips white space and returns the next byte without consuming it,
// or 0 at the end.
func (d *decoder) next() byte {
	// Most often there is no white space: every byte above the space is
	// no white space.
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return d.data[d.pos]
	}
	return d.skipSpace()
}

// skipSpace is next past white space.
func (d *decoder) skipSpace() byte {
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; c {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return c
		}
	}
	return 0
}

// kind names the JSON value starting with c.
func kind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// want reports whether the value at the cursor starts with c. A null is
// consumed and reported false; anything else is an error.
func (d *decoder) want(c byte, wanted string) bool {
	got := d.next()
	switch got {
	case c:
		return true
	case 'n':
		d.literal("null")
	case 0:
		d.syntax("unexpected end of JSON input")
	default:
		d.fail("got a JSON " + kind(got) + ", want " + wanted)
	}
	return false
}

func (d *decoder) literal(lit string) {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		d.syntax("invalid literal")
		return
	}
	d.pos += len(lit)
}

// member advances to the next property of the object at the cursor, whose
// '{' is consumed on the first call (first is then set false), and leaves
// its name for d.key(). It reports false at the object's end or on an error.
func (d *decoder) member(first *bool) bool {
	if !d.toName(first) {
		return false
	}
	d.name()
	return d.colon()
}

// property is member followed by pl.lookupFrom(d.key(), hint), made cheaper
// for the names lookupFrom tries first: each is compared with the input's
// bytes before these are read as a string. fp is nil for a property that
// is none of pl's fields; exact reports that the name was so compared, and
// so is fp's name exactly (lookupFrom may match one case-insensitively).
func (d *decoder) property(first *bool, pl *plan, hint *int) (fp *fieldPlan, exact, ok bool) {
	if !d.toKey(first) {
		return nil, false, false
	}
	expected := pl.expected(*hint)
	if i, ok := d.match(expected); i >= 0 {
		fp = expected[i]
		*hint = fp.index + 1
		return fp, true, ok
	}
	d.name()
	if !d.colon() {
		return nil, false, false
	}
	return pl.lookupFrom(d.key(), hint), false, true
}

// toKey is toName, made cheaper for the most common cases: a comma, or
// the object's '{', right before the name.
func (d *decoder) toKey(first *bool) bool {
	if rest := d.data[d.pos:]; len(rest) > 1 && rest[1] == '"' {
		if c := rest[0]; c == ',' && !*first || c == '{' && *first {
			*first = false
			d.pos++
			return true
		}
	}
	return d.toName(first)
}

// match compares the name whose opening quote is at the cursor with the
// names of fps, in the input's bytes. On a match it consumes the name and
// the colon after it, leaves the name for d.key(), and returns the index
// in fps of the field matched, with whether the colon was there; else it
// returns -1 and leaves the cursor where it was.
func (d *decoder) match(fps []*fieldPlan) (int, bool) {
	at := d.pos + 1
	for i, fp := range fps {
		if n := len(fp.name); fp.plain && at+n+1 < len(d.data) && d.data[at+n] == '"' && string(d.data[at:at+n]) == fp.name {
			d.keyAt, d.keyLen, d.keyInBuf = at, n, false
			// Most often the colon follows the name without white space.
			if d.data[at+n+1] == ':' {
				d.pos = at + n + 2
				return i, true
			}
			d.pos = at + n + 1
			return i, d.colon()
		}
	}
	return -1, true
}

// toName moves the cursor to the opening quote of the next property's name
// of the object at the cursor (see member), reporting false at the object's
// end or on an error.
func (d *decoder) toName(first *bool) bool {
	if *first {
		*first = false
		d.pos++ // '{'
		if d.next() == '}' {
			d.pos++
			return false
		}
	} else {
		switch d.next() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return false
		default:
			d.syntax("want ',' or '}'")
			return false
		}
	}
	if d.err != nil {
		return false
	}
	if d.next() != '"' {
		d.syntax("want a property name")
		return false
	}
	return true
}

// name reads the property name at the cursor, for d.key().
func (d *decoder) name() {
	start := d.pos + 1
	key := d.rawString()
	d.keyAt, d.keyLen = start, len(key)
	d.keyInBuf = len(key) > 0 && unsafe.SliceData(key) != &d.data[start]
}

// colon consumes the ':' after a property's name.
func (d *decoder) colon() bool {
	if d.next() != ':' {
		d.syntax("want ':'")
		return false
	}
	d.pos++
	return d.err == nil
}

// element advances to the next element of the array at the cursor, whose
// '[' is consumed on the first call. It reports false at the array's end
// or on an error.
func (d *decoder) element(first *bool) bool {
	if *first {
		*first = false
		d.pos++ // '['
		if d.next() == ']' {
			d.pos++
			return false
		}
		return d.err == nil
	}
	switch d.next() {
	case ',':
		d.pos++
		return d.err == nil
	case ']':
		d.pos++
		return false
	default:
		d.syntax("want ',' or ']'")
		return false
	}
}

// key is the current property's name, which member read: valid until
// the next string is read.
func (d *decoder) key() []byte {
	if d.keyInBuf {
		return d.buf[:d.keyLen]
	}
	return d.data[d.keyAt : d.keyAt+d.keyLen]
}

// rawString reads a string and returns its decoded bytes: a slice of the
// input when it has no escapes and is ASCII, else of d.buf (valid until
// the next string).
func (d *decoder) rawString() []byte {
	d.pos++ // '"'
	start := d.pos
	data := d.data
	i := d.pos
	// Eight bytes at a time while none of them ends the plain run: no
	// quote, backslash, control character or byte of UTF-8 beyond ASCII.
	for len(data)-i >= 8 {
		x := binary.LittleEndian.Uint64(data[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		if m := ((x-ones*0x20)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash | x) & highs; m != 0 {
			// The lowest byte marked is the first that ends the run: a
			// borrow can mark a byte wrongly only above one marked rightly.
			i += bits.TrailingZeros64(m) / 8
			break
		}
		i += 8
	}
	for i < len(data) && plain[data[i]] {
		i++
	}
	d.pos = i
	switch {
	case i >= len(data):
		d.syntax("unexpected end of JSON input")
		return nil
	case data[i] == '"':
		d.pos++
		return data[start:i]
	case data[i] < 0x20:
		d.syntax("control character in string")
		return nil
	default: // an escape, or a byte of UTF-8
		return d.slowString(start)
	}
}

// str returns b, which rawString returned, as a string. A string without
// escapes is a slice of the input, and so is its string: the message shares
// the body's bytes instead of copying them (see [Method.NewResponse]). A
// string with escapes, in d.buf, is copied.
func (d *decoder) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(d.data) > 0 {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(d.data)))
		if at := uintptr(unsafe.Pointer(unsafe.SliceData(b))); at >= start && at < start+uintptr(len(d.data)) {
			return unsafe.String(unsafe.SliceData(b), len(b))
		}
	}
	return string(b)
}

// ones and highs are a byte's lowest and highest bit in each byte of a
// word: (x-ones*c)&^x&highs is not zero when a byte of x is less than c
// (c ≤ 0x80), and (y-ones)&^y&highs when a byte of y is zero.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain marks the bytes a string holds as they are: ASCII less the quote,
// the backslash and control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (d *decoder) slowString(start int) []byte {
	b := append(d.buf[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.buf = b
			return b
		case c < 0x20:
			d.syntax("control character in string")
			return nil
		case c == '\\':
			if d.pos+1 >= len(d.data) {
				d.syntax("unexpected end of JSON input")
				return nil
			}
			esc := d.data[d.pos+1]
			d.pos += 2
			switch esc {
			case '"', '\\', '/':
				b = append(b, esc)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					d.syntax("invalid \\u escape")
					return nil
				}
				if utf16.IsSurrogate(r) {
					// A pair, or else U+FFFD, as encoding/json decodes it.
					r2 := rune(utf8.RuneError)
					save := d.pos
					if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
						d.pos += 2
						low, ok := d.hex4()
						if dec := utf16.DecodeRune(r, low); ok && dec != utf8.RuneError {
							r2 = dec
						} else {
							d.pos = save
						}
					}
					r = r2
				}
				b = utf8.AppendRune(b, r)
			default:
				d.syntax("invalid escape")
				return nil
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.data[d.pos:d.pos+size]...)
			}
			d.pos += size
		}
	}
	d.syntax("unexpected end of JSON input")
	return nil
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	d.pos += 4
	return r, true
}

// number checks and skips a number, and reports whether it is an integer
// literal (no fraction, no exponent).
func (d *decoder) number() bool {
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case !d.digits():
		d.syntax("invalid number")
		return false
	}
	integer := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		integer = false
		d.pos++
		if !d.digits() {
			d.syntax("invalid number")
			return false
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		integer = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if !d.digits() {
			d.syntax("invalid number")
			return false
		}
	}
	return integer
}

func (d *decoder) digits() bool {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

// skip checks and skips any JSON value: an unknown property's.
func (d *decoder) skip() {
	switch c := d.next(); c {
	case '{', '[':
		d.depth++
		if d.depth > maxDepth {
			d.syntax("exceeded max depth")
			return
		}
		if c == '{' {
			for first := true; d.member(&first); {
				d.skip()
			}
		} else {
			for first := true; d.element(&first); {
				d.skip()
			}
		}
		d.depth--
	case '"':
		d.rawString()
	case 't':
		d.literal("true")
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
	case 0:
		d.syntax("unexpected end of JSON input")
	default:
		if c != '-' && (c < '0' || c > '9') {
			d.syntax("invalid character")
			return
		}
		d.number()
	}
}

// name returns which of names key is, exactly or else case-insensitively
// as encoding/json matches property names, or "" for none.
func name(key []byte, names ...string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, n := range names {
		if foldEqual(key, n) {
			return n
		}
	}
	return ""
}

// foldEqual is encoding/json's case-insensitive match of a property name:
// ASCII letters fold, and so do 'ſ' (to s) and the Kelvin sign (to k).
func foldEqual(key []byte, name string) bool {
	i := 0
	for len(key) > 0 {
		r, size := utf8.DecodeRune(key)
		key = key[size:]
		switch r {
		case 'ſ':
			r = 's'
		case 'K':
			r = 'k'
		}
		if r >= utf8.RuneSelf || i >= len(name) || lower(byte(r)) != lower(name[i]) {
			return false
		}
		i++
	}
	return i == len(name)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
