package service

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// decodeIntegration decodes the body of an upstream 200 straight into its
// proto message, in one pass: no intermediate structs, no second walk. It
// keeps the rules of the README's "The JSON shape" and of encoding/json, which the
// two-step path (rest.DecodeIntegration, then the translator) follows and
// which FuzzDecodeMatchesTwoSteps holds it to: unknown properties are
// skipped (after checking their syntax), null leaves a field unset, a
// value of the wrong JSON type is an error, property names match exactly
// or else case-insensitively, invalid UTF-8 becomes U+FFFD. A field item
// with neither fieldName nor mapToName and a bad timestamp are errors; an
// enum value the schema does not know becomes _UNSPECIFIED and is reported
// to unknownEnum. Errors are [*InvalidIntegrationError]s that say where.
func decodeIntegration(body []byte, unknownEnum func(path, value string)) (*ampersandv1.Integration, error) {
	d := &decoder{data: body, t: translator{unknownEnum: unknownEnum}}
	if d.next() != '{' {
		return nil, &InvalidIntegrationError{Path: "(body)", Reason: "not a JSON object"}
	}
	out := &ampersandv1.Integration{}
	d.integration(root, out)
	if d.err == nil {
		d.next()
		if d.pos != len(d.data) {
			d.syntax(root, "data after the integration")
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.t.err != nil {
		return nil, d.t.err
	}
	return out, nil
}

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

type decoder struct {
	data  []byte
	pos   int
	err   error
	depth int
	key   []byte     // the current property's name (see member)
	buf   []byte     // scratch for strings with escapes
	t     translator // timestamps, enums and field variants, as the translator makes them
}

func (d *decoder) fail(p *path, reason string) {
	if d.err == nil {
		where := p.String()
		if where == "" {
			where = "(body)"
		}
		d.err = &InvalidIntegrationError{Path: where, Reason: reason}
	}
	d.pos = len(d.data) // stop
}

func (d *decoder) syntax(p *path, what string) {
	d.fail(p, "malformed JSON at byte "+strconv.Itoa(d.pos)+": "+what)
}

// next skips white space and returns the next byte without consuming it,
// or 0 at the end.
func (d *decoder) next() byte {
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
func (d *decoder) want(p *path, c byte, wanted string) bool {
	got := d.next()
	switch got {
	case c:
		return true
	case 'n':
		d.literal(p, "null")
	case 0:
		d.syntax(p, "unexpected end of JSON input")
	default:
		d.fail(p, "got a JSON "+kind(got)+", want "+wanted)
	}
	return false
}

func (d *decoder) literal(p *path, lit string) {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		d.syntax(p, "invalid literal")
		return
	}
	d.pos += len(lit)
}

// member advances to the next property of the object at the cursor, whose
// '{' is consumed on the first call (first is then set false), and leaves
// its name in d.key. It reports false at the object's end or on an error.
func (d *decoder) member(p *path, first *bool) bool {
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
			d.syntax(p, "want ',' or '}'")
			return false
		}
	}
	if d.err != nil {
		return false
	}
	if d.next() != '"' {
		d.syntax(p, "want a property name")
		return false
	}
	d.key = d.rawString(p)
	if d.next() != ':' {
		d.syntax(p, "want ':'")
		return false
	}
	d.pos++
	return d.err == nil
}

// element advances to the next element of the array at the cursor, whose
// '[' is consumed on the first call. It reports false at the array's end
// or on an error.
func (d *decoder) element(p *path, first *bool) bool {
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
		d.syntax(p, "want ',' or ']'")
		return false
	}
}

// rawString reads a string and returns its decoded bytes: a slice of the
// input when it has no escapes and is ASCII, else of d.buf (valid until
// the next string).
func (d *decoder) rawString(p *path) []byte {
	d.pos++ // '"'
	start := d.pos
	data := d.data
	i := d.pos
	for i < len(data) && plain[data[i]] {
		i++
	}
	d.pos = i
	switch {
	case i >= len(data):
		d.syntax(p, "unexpected end of JSON input")
		return nil
	case data[i] == '"':
		d.pos++
		return data[start:i]
	case data[i] < 0x20:
		d.syntax(p, "control character in string")
		return nil
	default: // an escape, or a byte of UTF-8
		return d.slowString(p, start)
	}
}

// plain marks the bytes a string holds as they are: ASCII less the quote,
// the backslash and control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (d *decoder) slowString(p *path, start int) []byte {
	b := append(d.buf[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.buf = b
			return b
		case c < 0x20:
			d.syntax(p, "control character in string")
			return nil
		case c == '\\':
			if d.pos+1 >= len(d.data) {
				d.syntax(p, "unexpected end of JSON input")
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
					d.syntax(p, "invalid \\u escape")
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
				d.syntax(p, "invalid escape")
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
	d.syntax(p, "unexpected end of JSON input")
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

// str reads a string into *out and reports whether it did; null leaves
// *out as it was.
func (d *decoder) str(p *path, out *string) bool {
	if !d.want(p, '"', "a string") {
		return false
	}
	b := d.rawString(p)
	if d.err != nil {
		return false
	}
	*out = string(b)
	return true
}

// strs reads an array of strings; null is nil, a null item is "".
func (d *decoder) strs(p *path) []string {
	if !d.want(p, '[', "an array") {
		return nil
	}
	out := []string{}
	for i, first := 0, true; d.element(p, &first); i++ {
		var s string
		d.str(p.at(i), &s)
		out = append(out, s)
	}
	return out
}

// boolean reads an optional boolean; null is unset.
func (d *decoder) boolean(p *path) *bool {
	switch d.next() {
	case 't':
		d.literal(p, "true")
		v := true
		return &v
	case 'f':
		d.literal(p, "false")
		v := false
		return &v
	}
	d.want(p, 't', "a boolean")
	return nil
}

// int32 reads an optional integer that fits in 32 bits; null is unset.
func (d *decoder) int32(p *path) *int32 {
	if c := d.next(); c != '-' && (c < '0' || c > '9') {
		d.want(p, '0', "an integer (32 bits)")
		return nil
	}
	start := d.pos
	integer := d.number(p)
	if d.err != nil {
		return nil
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	if !integer || err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		d.fail(p, "got a JSON number, want an integer (32 bits)")
		return nil
	}
	v := int32(n)
	return &v
}

// number checks and skips a number, and reports whether it is an integer
// literal (no fraction, no exponent).
func (d *decoder) number(p *path) bool {
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case !d.digits():
		d.syntax(p, "invalid number")
		return false
	}
	integer := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		integer = false
		d.pos++
		if !d.digits() {
			d.syntax(p, "invalid number")
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
			d.syntax(p, "invalid number")
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
func (d *decoder) skip(p *path) {
	switch c := d.next(); c {
	case '{', '[':
		d.depth++
		if d.depth > maxDepth {
			d.syntax(p, "exceeded max depth")
			return
		}
		if c == '{' {
			for first := true; d.member(p, &first); {
				d.skip(p)
			}
		} else {
			for first := true; d.element(p, &first); {
				d.skip(p)
			}
		}
		d.depth--
	case '"':
		d.rawString(p)
	case 't':
		d.literal(p, "true")
	case 'f':
		d.literal(p, "false")
	case 'n':
		d.literal(p, "null")
	case 0:
		d.syntax(p, "unexpected end of JSON input")
	default:
		if c != '-' && (c < '0' || c > '9') {
			d.syntax(p, "invalid character")
			return
		}
		d.number(p)
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

// The messages, in the order of the schema. Objects that are properties
// decode into the message already there, so that a property given twice
// merges as encoding/json merges it. The loops over arrays are written out
// rather than shared through a function value: through one, every item's
// path would escape to the heap.

func (d *decoder) integration(p *path, out *ampersandv1.Integration) {
	var createTime, updateTime string
	for first := true; d.member(p, &first); {
		switch name(d.key, "id", "projectId", "name", "provider", "createTime", "updateTime", "latestRevision") {
		case "id":
			d.str(p.field("id"), &out.Id)
		case "projectId":
			d.str(p.field("projectId"), &out.ProjectId)
		case "name":
			d.str(p.field("name"), &out.Name)
		case "provider":
			d.str(p.field("provider"), &out.Provider)
		case "createTime":
			d.str(p.field("createTime"), &createTime)
		case "updateTime":
			d.str(p.field("updateTime"), &updateTime)
		case "latestRevision":
			out.LatestRevision = d.revision(p.field("latestRevision"), out.LatestRevision)
		default:
			d.skip(p)
		}
	}
	out.CreateTime = d.t.timestamp(p.field("createTime"), createTime)
	out.UpdateTime = d.t.timestamp(p.field("updateTime"), updateTime)
}

func (d *decoder) revision(p *path, out *ampersandv1.Revision) *ampersandv1.Revision {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.Revision{}
	}
	createTime, seen := "", false
	for first := true; d.member(p, &first); {
		switch name(d.key, "id", "specVersion", "createTime", "content") {
		case "id":
			d.str(p.field("id"), &out.Id)
		case "specVersion":
			d.str(p.field("specVersion"), &out.SpecVersion)
		case "createTime":
			seen = d.str(p.field("createTime"), &createTime) || seen
		case "content":
			out.Content = d.content(p.field("content"), out.Content)
		default:
			d.skip(p)
		}
	}
	if seen {
		out.CreateTime = d.t.timestamp(p.field("createTime"), createTime)
	}
	return out
}

func (d *decoder) content(p *path, out *ampersandv1.IntegrationContent) *ampersandv1.IntegrationContent {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.IntegrationContent{}
	}
	for first := true; d.member(p, &first); {
		switch name(d.key, "name", "provider", "displayName", "module", "read", "write", "proxy", "subscribe", "watchSchema") {
		case "name":
			d.str(p.field("name"), &out.Name)
		case "provider":
			d.str(p.field("provider"), &out.Provider)
		case "displayName":
			d.str(p.field("displayName"), &out.DisplayName)
		case "module":
			d.str(p.field("module"), &out.Module)
		case "read":
			out.Read = d.read(p.field("read"), out.Read)
		case "write":
			out.Write = d.write(p.field("write"), out.Write)
		case "proxy":
			out.Proxy = d.proxy(p.field("proxy"), out.Proxy)
		case "subscribe":
			out.Subscribe = d.subscribe(p.field("subscribe"), out.Subscribe)
		case "watchSchema":
			out.WatchSchema = d.watchSchema(p.field("watchSchema"), out.WatchSchema)
		default:
			d.skip(p)
		}
	}
	return out
}

func (d *decoder) read(p *path, out *ampersandv1.ReadIntegration) *ampersandv1.ReadIntegration {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.ReadIntegration{}
	}
	for first := true; d.member(p, &first); {
		if name(d.key, "objects") == "" {
			d.skip(p)
			continue
		}
		objects := p.field("objects")
		out.Objects = nil
		if !d.want(objects, '[', "an array") {
			continue
		}
		out.Objects = []*ampersandv1.IntegrationObject{}
		for i, first := 0, true; d.element(objects, &first); i++ {
			out.Objects = append(out.Objects, d.readObject(objects.at(i)))
		}
	}
	return out
}

func (d *decoder) readObject(p *path) *ampersandv1.IntegrationObject {
	out := &ampersandv1.IntegrationObject{}
	if !d.want(p, '{', "an object") {
		return out // a null item is an empty object, as the translator makes it
	}
	var optionalFieldsAuto, enabled string
	for first := true; d.member(p, &first); {
		switch name(d.key, "objectName", "destination", "schedule", "mapToName", "mapToDisplayName",
			"requiredFields", "optionalFields", "optionalFieldsAuto", "backfill", "delivery", "enabled") {
		case "objectName":
			d.str(p.field("objectName"), &out.ObjectName)
		case "destination":
			d.str(p.field("destination"), &out.Destination)
		case "schedule":
			d.str(p.field("schedule"), &out.Schedule)
		case "mapToName":
			d.str(p.field("mapToName"), &out.MapToName)
		case "mapToDisplayName":
			d.str(p.field("mapToDisplayName"), &out.MapToDisplayName)
		case "requiredFields":
			out.RequiredFields = d.fields(p.field("requiredFields"))
		case "optionalFields":
			out.OptionalFields = d.fields(p.field("optionalFields"))
		case "optionalFieldsAuto":
			d.str(p.field("optionalFieldsAuto"), &optionalFieldsAuto)
		case "backfill":
			out.Backfill = d.backfill(p.field("backfill"), out.Backfill)
		case "delivery":
			out.Delivery = d.delivery(p.field("delivery"), out.Delivery)
		case "enabled":
			d.str(p.field("enabled"), &enabled)
		default:
			d.skip(p)
		}
	}
	out.OptionalFieldsAuto = d.t.optionalFieldsAuto(p.field("optionalFieldsAuto"), optionalFieldsAuto)
	out.Enabled = d.t.enablement(p.field("enabled"), enabled)
	return out
}

func (d *decoder) fields(p *path) []*ampersandv1.IntegrationField {
	if !d.want(p, '[', "an array") {
		return nil
	}
	out := []*ampersandv1.IntegrationField{}
	for i, first := 0, true; d.element(p, &first); i++ {
		out = append(out, d.field(p.at(i)))
	}
	return out
}

// field reads a field item's properties, then picks its variant as the
// translator does.
func (d *decoder) field(p *path) *ampersandv1.IntegrationField {
	var fieldName, mapToName, mapToDisplayName, def, prompt string
	if d.want(p, '{', "an object") {
		for first := true; d.member(p, &first); {
			switch name(d.key, "fieldName", "mapToName", "mapToDisplayName", "default", "prompt") {
			case "fieldName":
				d.str(p.field("fieldName"), &fieldName)
			case "mapToName":
				d.str(p.field("mapToName"), &mapToName)
			case "mapToDisplayName":
				d.str(p.field("mapToDisplayName"), &mapToDisplayName)
			case "default":
				d.str(p.field("default"), &def)
			case "prompt":
				d.str(p.field("prompt"), &prompt)
			default:
				d.skip(p)
			}
		}
	}
	if d.err != nil {
		return nil
	}
	// A field is three messages (the field, its oneof wrapper and the
	// variant): each variant's three are made in one allocation, as fields
	// are most of a large integration's objects.
	switch {
	case fieldName != "":
		all := &struct {
			field   ampersandv1.IntegrationField
			wrapper ampersandv1.IntegrationField_Existent
			variant ampersandv1.IntegrationFieldExistent
		}{}
		all.variant.FieldName, all.variant.MapToName, all.variant.MapToDisplayName = fieldName, mapToName, mapToDisplayName
		all.wrapper.Existent = &all.variant
		all.field.Field = &all.wrapper
		return &all.field
	case mapToName != "":
		all := &struct {
			field   ampersandv1.IntegrationField
			wrapper ampersandv1.IntegrationField_Mapping
			variant ampersandv1.IntegrationFieldMapping
		}{}
		all.variant.MapToName, all.variant.MapToDisplayName, all.variant.Default, all.variant.Prompt = mapToName, mapToDisplayName, def, prompt
		all.wrapper.Mapping = &all.variant
		all.field.Field = &all.wrapper
		return &all.field
	default:
		d.t.fail(p, "field has neither fieldName nor mapToName")
		return nil
	}
}

func (d *decoder) backfill(p *path, out *ampersandv1.Backfill) *ampersandv1.Backfill {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.Backfill{}
	}
	for first := true; d.member(p, &first); {
		if name(d.key, "defaultPeriod") == "" {
			d.skip(p)
			continue
		}
		period := p.field("defaultPeriod")
		if !d.want(period, '{', "an object") {
			out.DefaultPeriod = nil
			continue
		}
		if out.DefaultPeriod == nil {
			out.DefaultPeriod = &ampersandv1.DefaultPeriod{}
		}
		for first := true; d.member(period, &first); {
			switch name(d.key, "days", "fullHistory") {
			case "days":
				out.DefaultPeriod.Days = d.int32(period.field("days"))
			case "fullHistory":
				out.DefaultPeriod.FullHistory = d.boolean(period.field("fullHistory"))
			default:
				d.skip(period)
			}
		}
	}
	return out
}

func (d *decoder) delivery(p *path, out *ampersandv1.Delivery) *ampersandv1.Delivery {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.Delivery{}
	}
	mode, seen := "", false
	for first := true; d.member(p, &first); {
		switch name(d.key, "mode", "pageSize") {
		case "mode":
			seen = d.str(p.field("mode"), &mode) || seen
		case "pageSize":
			out.PageSize = d.int32(p.field("pageSize"))
		default:
			d.skip(p)
		}
	}
	if seen {
		out.Mode = d.t.deliveryMode(p.field("mode"), mode)
	}
	return out
}

func (d *decoder) write(p *path, out *ampersandv1.WriteIntegration) *ampersandv1.WriteIntegration {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.WriteIntegration{}
	}
	for first := true; d.member(p, &first); {
		if name(d.key, "objects") == "" {
			d.skip(p)
			continue
		}
		objects := p.field("objects")
		out.Objects = nil
		if !d.want(objects, '[', "an array") {
			continue
		}
		out.Objects = []*ampersandv1.IntegrationWriteObject{}
		for i, first := 0, true; d.element(objects, &first); i++ {
			out.Objects = append(out.Objects, d.writeObject(objects.at(i)))
		}
	}
	return out
}

func (d *decoder) writeObject(p *path) *ampersandv1.IntegrationWriteObject {
	out := &ampersandv1.IntegrationWriteObject{}
	if !d.want(p, '{', "an object") {
		return out
	}
	for first := true; d.member(p, &first); {
		switch name(d.key, "objectName", "inheritMapping", "valueDefaults") {
		case "objectName":
			d.str(p.field("objectName"), &out.ObjectName)
		case "inheritMapping":
			out.InheritMapping = d.boolean(p.field("inheritMapping"))
		case "valueDefaults":
			defaults := p.field("valueDefaults")
			if !d.want(defaults, '{', "an object") {
				out.ValueDefaults = nil
				continue
			}
			if out.ValueDefaults == nil {
				out.ValueDefaults = &ampersandv1.ValueDefaults{}
			}
			for first := true; d.member(defaults, &first); {
				if name(d.key, "allowAnyFields") == "" {
					d.skip(defaults)
					continue
				}
				out.ValueDefaults.AllowAnyFields = d.boolean(defaults.field("allowAnyFields"))
			}
		default:
			d.skip(p)
		}
	}
	return out
}

func (d *decoder) proxy(p *path, out *ampersandv1.ProxyIntegration) *ampersandv1.ProxyIntegration {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.ProxyIntegration{}
	}
	for first := true; d.member(p, &first); {
		switch name(d.key, "enabled", "useModule") {
		case "enabled":
			out.Enabled = d.boolean(p.field("enabled"))
		case "useModule":
			out.UseModule = d.boolean(p.field("useModule"))
		default:
			d.skip(p)
		}
	}
	return out
}

func (d *decoder) subscribe(p *path, out *ampersandv1.SubscribeIntegration) *ampersandv1.SubscribeIntegration {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.SubscribeIntegration{}
	}
	for first := true; d.member(p, &first); {
		if name(d.key, "objects") == "" {
			d.skip(p)
			continue
		}
		objects := p.field("objects")
		out.Objects = nil
		if !d.want(objects, '[', "an array") {
			continue
		}
		out.Objects = []*ampersandv1.IntegrationSubscribeObject{}
		for i, first := 0, true; d.element(objects, &first); i++ {
			out.Objects = append(out.Objects, d.subscribeObject(objects.at(i)))
		}
	}
	return out
}

func (d *decoder) subscribeObject(p *path) *ampersandv1.IntegrationSubscribeObject {
	out := &ampersandv1.IntegrationSubscribeObject{}
	if !d.want(p, '{', "an object") {
		return out
	}
	for first := true; d.member(p, &first); {
		switch name(d.key, "objectName", "destination", "inheritFieldsAndMapping", "createEvent", "updateEvent",
			"deleteEvent", "associationChangeEvent", "otherEvents") {
		case "objectName":
			d.str(p.field("objectName"), &out.ObjectName)
		case "destination":
			d.str(p.field("destination"), &out.Destination)
		case "inheritFieldsAndMapping":
			out.InheritFieldsAndMapping = d.boolean(p.field("inheritFieldsAndMapping"))
		case "createEvent":
			if e, ok := d.enabled(p.field("createEvent"), out.CreateEvent.GetEnabled(), out.CreateEvent != nil); ok {
				out.CreateEvent = &ampersandv1.CreateEvent{Enabled: e}
			} else {
				out.CreateEvent = nil
			}
		case "updateEvent":
			out.UpdateEvent = d.updateEvent(p.field("updateEvent"), out.UpdateEvent)
		case "deleteEvent":
			if e, ok := d.enabled(p.field("deleteEvent"), out.DeleteEvent.GetEnabled(), out.DeleteEvent != nil); ok {
				out.DeleteEvent = &ampersandv1.DeleteEvent{Enabled: e}
			} else {
				out.DeleteEvent = nil
			}
		case "associationChangeEvent":
			out.AssociationChangeEvent = d.associationChangeEvent(p.field("associationChangeEvent"), out.AssociationChangeEvent)
		case "otherEvents":
			out.OtherEvents = d.strs(p.field("otherEvents"))
		default:
			d.skip(p)
		}
	}
	return out
}

// enabled reads an object whose only property is enabled, merging into a
// value already there (had). It reports false for null: no object.
func (d *decoder) enabled(p *path, before ampersandv1.Enablement, had bool) (ampersandv1.Enablement, bool) {
	if !d.want(p, '{', "an object") {
		return 0, false
	}
	if !had {
		before = ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
	}
	value, seen := "", false
	for first := true; d.member(p, &first); {
		if name(d.key, "enabled") == "" {
			d.skip(p)
			continue
		}
		seen = d.str(p.field("enabled"), &value) || seen
	}
	if seen {
		return d.t.enablement(p.field("enabled"), value), true
	}
	return before, true
}

func (d *decoder) updateEvent(p *path, out *ampersandv1.UpdateEvent) *ampersandv1.UpdateEvent {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.UpdateEvent{}
	}
	var enabled, watchFieldsAuto string
	var seenEnabled, seenWatch bool
	for first := true; d.member(p, &first); {
		switch name(d.key, "enabled", "watchFieldsAuto", "requiredWatchFields") {
		case "enabled":
			seenEnabled = d.str(p.field("enabled"), &enabled) || seenEnabled
		case "watchFieldsAuto":
			seenWatch = d.str(p.field("watchFieldsAuto"), &watchFieldsAuto) || seenWatch
		case "requiredWatchFields":
			out.RequiredWatchFields = d.strs(p.field("requiredWatchFields"))
		default:
			d.skip(p)
		}
	}
	if seenEnabled {
		out.Enabled = d.t.enablement(p.field("enabled"), enabled)
	}
	if seenWatch {
		out.WatchFieldsAuto = d.t.watchFieldsAuto(p.field("watchFieldsAuto"), watchFieldsAuto)
	}
	return out
}

func (d *decoder) associationChangeEvent(p *path, out *ampersandv1.AssociationChangeEvent) *ampersandv1.AssociationChangeEvent {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.AssociationChangeEvent{}
	}
	enabled, seen := "", false
	for first := true; d.member(p, &first); {
		switch name(d.key, "enabled", "includeFullRecords") {
		case "enabled":
			seen = d.str(p.field("enabled"), &enabled) || seen
		case "includeFullRecords":
			out.IncludeFullRecords = d.boolean(p.field("includeFullRecords"))
		default:
			d.skip(p)
		}
	}
	if seen {
		out.Enabled = d.t.enablement(p.field("enabled"), enabled)
	}
	return out
}

func (d *decoder) watchSchema(p *path, out *ampersandv1.WatchSchema) *ampersandv1.WatchSchema {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.WatchSchema{}
	}
	for first := true; d.member(p, &first); {
		switch name(d.key, "destination", "schedule", "allObjects") {
		case "destination":
			d.str(p.field("destination"), &out.Destination)
		case "schedule":
			d.str(p.field("schedule"), &out.Schedule)
		case "allObjects":
			out.AllObjects = d.watchSchemaAllObjects(p.field("allObjects"), out.AllObjects)
		default:
			d.skip(p)
		}
	}
	return out
}

func (d *decoder) watchSchemaAllObjects(p *path, out *ampersandv1.WatchSchemaAllObjects) *ampersandv1.WatchSchemaAllObjects {
	if !d.want(p, '{', "an object") {
		return nil
	}
	if out == nil {
		out = &ampersandv1.WatchSchemaAllObjects{}
	}
	for first := true; d.member(p, &first); {
		switch name(d.key, "fieldCreated", "fieldDeleted", "fieldChanged") {
		case "fieldCreated":
			if e, ok := d.enabled(p.field("fieldCreated"), out.FieldCreated.GetEnabled(), out.FieldCreated != nil); ok {
				out.FieldCreated = &ampersandv1.FieldCreatedEvent{Enabled: e}
			} else {
				out.FieldCreated = nil
			}
		case "fieldDeleted":
			if e, ok := d.enabled(p.field("fieldDeleted"), out.FieldDeleted.GetEnabled(), out.FieldDeleted != nil); ok {
				out.FieldDeleted = &ampersandv1.FieldDeletedEvent{Enabled: e}
			} else {
				out.FieldDeleted = nil
			}
		case "fieldChanged":
			if e, ok := d.enabled(p.field("fieldChanged"), out.FieldChanged.GetEnabled(), out.FieldChanged != nil); ok {
				out.FieldChanged = &ampersandv1.FieldChangedEvent{Enabled: e}
			} else {
				out.FieldChanged = nil
			}
		default:
			d.skip(p)
		}
	}
	return out
}
