package translate

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// A plan is what the translator knows of a message, read once from its
// descriptor: each field's REST name and kind, the REST spellings of its
// enums, how its oneofs are told apart. Decoding and encoding are walks
// over plans; nothing is looked up by reflection per call.
type plan struct {
	id     int // the plan's index among all made, for the transcoder's shapes
	desc   protoreflect.MessageDescriptor
	typ    protoreflect.MessageType
	wkt    wkt
	fields []*fieldPlan          // the fields that are REST properties, in number order
	byName map[string]*fieldPlan // the same, by REST name
	byLen  [][]int               // the indexes in fields of the names of each length
	// next are the fields expected after the field before each index of
	// fields, and after the last (see expected).
	next [][]*fieldPlan
	// untagged is the oneof whose variants are objects merged into this
	// one's, if any.
	untagged *oneofPlan
	// oneofs are the real oneofs (not proto3 optional's): one of each must
	// be set. tagged are those of them that are not untagged.
	oneofs []protoreflect.OneofDescriptor
	tagged []protoreflect.OneofDescriptor
	// wrapper is the one field of a wrapper message, whose REST value is
	// that field's.
	wrapper *fieldPlan
	// goType is the Go struct of a generated message, which the decoder
	// writes straight into (see fast.go); nil for other messages.
	goType  reflect.Type
	goRType unsafe.Pointer // goType's runtime type, for unsafe_New
	// triples reports that every variant of the untagged oneof can be
	// allocated with its message (see allocWithVariant).
	triples bool
}

// wkt tells the well-known types with a JSON form of their own.
type wkt int

const (
	wktNone wkt = iota
	wktTimestamp
	wktStruct
	wktValue
)

type fieldPlan struct {
	fd   protoreflect.FieldDescriptor
	name string // the REST name
	// value is the plan of the field's values: of the field itself, of a
	// list's elements, of a map's values.
	value valuePlan
	list  bool
	isMap bool
	// fast says how the field is written in a generated message's struct,
	// at offset; goElem is the struct type of a message field's values.
	fast   fastKind
	offset uintptr
	goElem reflect.Type
	// index is the field's index in its plan's fields; tagged is the index
	// in its plan's tagged of the oneof it is a member of, or -1; presence
	// says that a zero value is written too. The transcoder (transcode.go)
	// reads them.
	index    int
	tagged   int
	presence bool
	num      protowire.Number
	// plain says that the name is ASCII with no character JSON escapes,
	// so that the input's bytes can be compared with it.
	plain bool
	// jsonKey is the name as the transcoder writes it in proto JSON.
	jsonKey []byte
	// str says that the field is a string, not a list or a map.
	str bool
}

// valuePlan says how one value is read and written.
type valuePlan struct {
	kind protoreflect.Kind
	msg  *plan     // for messages
	enum *enumPlan // for enums
}

type enumPlan struct {
	desc   protoreflect.EnumDescriptor
	byREST map[string]protoreflect.EnumNumber
	rest   map[protoreflect.EnumNumber]string
}

type oneofPlan struct {
	desc     protoreflect.OneofDescriptor
	variants []*variantPlan
	// required are the REST names of every variant's required properties,
	// which a pre-scan of an object looks for.
	required []string
	// guesses says which variant an object whose first property has a
	// given name most likely holds: the first variant to require it, else
	// the first to have it (see transcoder.untagged). An object whose first
	// property is none of these is guessed the first variant. guessable is
	// false when the variants' field numbers are too large to note which
	// are required (see variantPlan.requiredOf), or when a required name
	// and a field's differ only in case.
	guesses   []variantGuess
	guessable bool
	// guessFields are the fields named by guesses in their variants'
	// messages, and guessVariants the variants, for comparing the names
	// with the input's bytes (see decoder.firstProperty); a name that is
	// no field of its variant's plan is left out.
	guessFields   []*fieldPlan
	guessVariants []*variantPlan
}

type variantGuess struct {
	name    string
	variant *variantPlan
}

type variantPlan struct {
	fd      protoreflect.FieldDescriptor
	num     protowire.Number
	msg     *plan
	jsonKey []byte // the variant field's name, as the transcoder writes it in proto JSON
	// For a generated message, what setting the variant writes: the
	// oneof's interface field (at oneofOffset) gets the itab of the
	// variant's wrapper type and a new wrapper, whose one field is the new
	// message. wrapper is nil when the fast path does not cover it.
	wrapper      reflect.Type
	wrapperRType unsafe.Pointer
	// tripleRType is a struct holding the oneof's message, this variant's
	// wrapper and its message, at offsets 0, tripleWrapper and
	// tripleChild: one allocation for a list's element.
	tripleRType   unsafe.Pointer
	tripleWrapper uintptr
	tripleChild   uintptr
	itab          unsafe.Pointer
	oneofOffset   uintptr
	// required are the indexes in oneofPlan.required of the variant's
	// required properties, with the JSON type each must have.
	required []requiredProp
	// requiredOf is the index in oneofPlan.required of the name of each of
	// the variant's fields, by field number, or -1; numbers past its end
	// are of fields whose names no variant requires.
	requiredOf []int
}

type requiredProp struct {
	index int
	want  jsonType
}

// jsonType is the type a required property must have for its variant to
// be chosen.
type jsonType int

const (
	jsonString jsonType = iota
	jsonBool
	jsonInteger
	jsonNumber
	jsonObject
	jsonArray
	jsonAny
	// jsonNull is not a type a property is required to have, but a null,
	// counted as absent, as a shape notes it (see typeOf).
	jsonNull
)

var (
	plansMu   sync.Mutex
	plans     = map[protoreflect.FullName]*plan{}
	planCount int // the plans made, for their ids
)

// planFor returns the plan of a message, made once.
func planFor(md protoreflect.MessageDescriptor) (*plan, error) {
	plansMu.Lock()
	defer plansMu.Unlock()
	p, err := makePlan(md)
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		if o := p.untagged; o != nil && o.guessFields == nil {
			o.fieldsGuessed()
		}
	}
	return p, nil
}

func makePlan(md protoreflect.MessageDescriptor) (*plan, error) {
	if p, ok := plans[md.FullName()]; ok {
		return p, nil
	}
	p := &plan{id: planCount, desc: md, byName: map[string]*fieldPlan{}}
	planCount++
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		p.typ = mt
	} else {
		p.typ = dynamicpb.NewMessageType(md)
	}
	plans[md.FullName()] = p // before the fields: messages may be recursive
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		p.wkt = wktTimestamp
		p.fastFields()
		return p, nil
	case "google.protobuf.Struct":
		p.wkt = wktStruct
		return p, nil
	case "google.protobuf.Value":
		p.wkt = wktValue
		return p, nil
	}
	wrapper := proto.GetExtension(md.Options(), ampersandv1.E_Wrapper).(bool)
	for i := range md.Oneofs().Len() {
		od := md.Oneofs().Get(i)
		if od.IsSynthetic() {
			continue
		}
		p.oneofs = append(p.oneofs, od)
		if !proto.GetExtension(od.Options(), ampersandv1.E_Untagged).(bool) {
			p.tagged = append(p.tagged, od)
		}
		if proto.GetExtension(od.Options(), ampersandv1.E_Untagged).(bool) {
			if p.untagged != nil {
				delete(plans, md.FullName())
				return nil, fmt.Errorf("%s: two untagged oneofs", md.FullName())
			}
			p.untagged = &oneofPlan{desc: od}
		}
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		fp, err := makeFieldPlan(fd)
		if err != nil {
			delete(plans, md.FullName())
			return nil, err
		}
		if p.untagged != nil && fd.ContainingOneof() == p.untagged.desc {
			if err := p.untagged.addVariant(fp); err != nil {
				delete(plans, md.FullName())
				return nil, err
			}
			continue
		}
		p.fields = append(p.fields, fp)
		p.byName[fp.name] = fp
	}
	if p.untagged != nil {
		p.untagged.finish()
	}
	for i, fp := range p.fields {
		fp.index, fp.tagged = i, slices.Index(p.tagged, fp.fd.ContainingOneof())
		fp.presence = fp.fd.HasPresence() && !fp.list
		for len(p.byLen) <= len(fp.name) {
			p.byLen = append(p.byLen, nil)
		}
		p.byLen[len(fp.name)] = append(p.byLen[len(fp.name)], i)
		fp.plain = !strings.ContainsFunc(fp.name, func(r rune) bool { return r >= utf8.RuneSelf || !plain[r] })
	}
	p.next = expectations(p.fields)
	if wrapper {
		if len(p.fields) != 1 {
			delete(plans, md.FullName())
			return nil, fmt.Errorf("%s: a wrapper has %d fields, want 1", md.FullName(), len(p.fields))
		}
		p.wrapper = p.fields[0]
	}
	p.fastFields()
	return p, nil
}

// expectations are each plan's next: after the field before index i, the
// field i, and the field whose name follows the name of the field before
// (the first by name at i = 0), both where they exist, once.
func expectations(fields []*fieldPlan) [][]*fieldPlan {
	sorted := slices.Clone(fields)
	slices.SortFunc(sorted, func(a, b *fieldPlan) int { return strings.Compare(a.name, b.name) })
	after := map[*fieldPlan]*fieldPlan{}
	for i, fp := range sorted {
		if i+1 < len(sorted) {
			after[fp] = sorted[i+1]
		}
	}
	next := make([][]*fieldPlan, len(fields)+1)
	for i := range next {
		var byName *fieldPlan
		switch {
		case i == 0 && len(sorted) > 0:
			byName = sorted[0]
		case i > 0:
			byName = after[fields[i-1]]
		}
		if i < len(fields) {
			next[i] = append(next[i], fields[i])
		}
		if byName != nil && (i >= len(fields) || byName != fields[i]) {
			next[i] = append(next[i], byName)
		}
	}
	return next
}

func makeFieldPlan(fd protoreflect.FieldDescriptor) (*fieldPlan, error) {
	fp := &fieldPlan{fd: fd, name: fd.JSONName(), list: fd.IsList(), isMap: fd.IsMap(), num: fd.Number(), jsonKey: jsonKey(fd.JSONName())}
	vd := fd
	if fd.IsMap() {
		vd = fd.MapValue()
	}
	v, err := makeValuePlan(vd)
	if err != nil {
		return nil, err
	}
	fp.value = v
	fp.str = v.kind == protoreflect.StringKind && !fp.list && !fp.isMap
	return fp, nil
}

func makeValuePlan(fd protoreflect.FieldDescriptor) (valuePlan, error) {
	v := valuePlan{kind: fd.Kind()}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		msg, err := makePlan(fd.Message())
		if err != nil {
			return v, err
		}
		v.msg = msg
	case protoreflect.EnumKind:
		v.enum = enumPlanFor(fd.Enum())
	}
	return v, nil
}

var enumPlans = map[protoreflect.FullName]*enumPlan{}

func enumPlanFor(ed protoreflect.EnumDescriptor) *enumPlan {
	if e, ok := enumPlans[ed.FullName()]; ok {
		return e
	}
	e := &enumPlan{desc: ed, byREST: map[string]protoreflect.EnumNumber{}, rest: map[protoreflect.EnumNumber]string{}}
	for i := range ed.Values().Len() {
		vd := ed.Values().Get(i)
		rest := proto.GetExtension(vd.Options(), ampersandv1.E_RestValue).(string)
		if rest == "" {
			continue
		}
		e.byREST[rest] = vd.Number()
		e.rest[vd.Number()] = rest
	}
	enumPlans[ed.FullName()] = e
	return e
}

// addVariant adds a variant of an untagged oneof: a message whose required
// fields (google.api.field_behavior) tell it apart.
func (o *oneofPlan) addVariant(fp *fieldPlan) error {
	if fp.value.msg == nil || fp.value.msg.wkt != wktNone {
		return fmt.Errorf("%s: a variant of an untagged oneof must be a message", fp.fd.FullName())
	}
	v := &variantPlan{fd: fp.fd, msg: fp.value.msg, num: fp.fd.Number(), jsonKey: jsonKey(fp.fd.JSONName())}
	md := fp.fd.Message()
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if !isRequired(fd) {
			continue
		}
		index := -1
		for j, name := range o.required {
			if name == fd.JSONName() {
				index = j
			}
		}
		if index < 0 {
			index = len(o.required)
			o.required = append(o.required, fd.JSONName())
		}
		v.required = append(v.required, requiredProp{index: index, want: jsonTypeOf(fd)})
	}
	o.variants = append(o.variants, v)
	return nil
}

// finish notes, once every variant is added, what the transcoder reads an
// object's variant by (see transcoder.untagged): the guesses, and each
// variant's requiredOf.
func (o *oneofPlan) finish() {
	o.guessable = len(o.variants) > 0 && len(o.required) <= maxRequired
	guessed := map[string]bool{}
	guess := func(name string, v *variantPlan) {
		if !guessed[name] {
			guessed[name] = true
			o.guesses = append(o.guesses, variantGuess{name: name, variant: v})
		}
	}
	for _, v := range o.variants {
		for _, r := range v.required {
			guess(o.required[r.index], v)
		}
	}
	for _, v := range o.variants {
		fields := v.fd.Message().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			guess(fd.JSONName(), v)
			for _, name := range o.required {
				if name != fd.JSONName() && foldEqual([]byte(name), fd.JSONName()) {
					// A property so named would be matched to this field
					// case-insensitively, but to the required one by the
					// look-ahead: the transcoder does not guess.
					o.guessable = false
				}
			}
			if j := slices.Index(o.required, fd.JSONName()); j >= 0 {
				if fd.Number() > maxGuessedNumber {
					o.guessable = false
					continue
				}
				for len(v.requiredOf) <= int(fd.Number()) {
					v.requiredOf = append(v.requiredOf, -1)
				}
				v.requiredOf[fd.Number()] = j
			}
		}
	}
}

// fieldsGuessed notes the guesses' fields, once every plan they are in is
// made: a variant's plan may still be being made when finish runs, if its
// message holds the one whose oneof it is.
func (o *oneofPlan) fieldsGuessed() {
	o.guessFields, o.guessVariants = []*fieldPlan{}, []*variantPlan{}
	for _, g := range o.guesses {
		if fp := g.variant.msg.byName[g.name]; fp != nil {
			o.guessFields = append(o.guessFields, fp)
			o.guessVariants = append(o.guessVariants, g.variant)
		}
	}
}

// maxGuessedNumber bounds the field numbers of the variants whose objects
// the transcoder guesses, and so the size of their requiredOf.
const maxGuessedNumber = 1024

// guess is the variant an object whose first property is named key most
// likely holds.
func (o *oneofPlan) guess(key []byte) *variantPlan {
	for _, g := range o.guesses {
		if len(g.name) == len(key) && g.name == string(key) {
			return g.variant
		}
	}
	return o.variants[0]
}

// requiredIndex is the index in o.required of the property named key, or
// -1.
func (o *oneofPlan) requiredIndex(key []byte) int {
	for i, name := range o.required {
		if name == string(key) {
			return i
		}
	}
	return -1
}

func isRequired(fd protoreflect.FieldDescriptor) bool {
	behaviors, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	for _, b := range behaviors {
		if b == annotations.FieldBehavior_REQUIRED {
			return true
		}
	}
	return false
}

// jsonTypeOf is the JSON type of a field's REST value.
func jsonTypeOf(fd protoreflect.FieldDescriptor) jsonType {
	switch {
	case fd.IsList():
		return jsonArray
	case fd.IsMap():
		return jsonObject
	}
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.EnumKind, protoreflect.BytesKind:
		return jsonString
	case protoreflect.BoolKind:
		return jsonBool
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return jsonNumber
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			return jsonString
		case "google.protobuf.Value":
			return jsonAny
		}
		if proto.GetExtension(fd.Message().Options(), ampersandv1.E_Wrapper).(bool) && fd.Message().Fields().Len() == 1 {
			return jsonTypeOf(fd.Message().Fields().Get(0))
		}
		return jsonObject
	}
	return jsonInteger
}
