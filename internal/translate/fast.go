package translate

import (
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file is the decoder's fast path for generated messages (protoc-gen-go's
// open structs): a field's value is stored straight into its Go struct
// field, at an offset found once by reflection, where protoreflect's setters
// would box every value (they cost two to three allocations a string).
// Fields the fast path does not cover (oneof members, maps, well-known
// types held by value) go through protoreflect, as they do for a message
// that is not generated.

// fastKind is how a field's Go struct field is written.
type fastKind uint8

const (
	fastNone       fastKind = iota
	fastString              // string
	fastBool                // bool
	fastInt32               // int32 or an enum
	fastInt64               // int64
	fastFloat64             // float64
	fastOptBool             // *bool: proto3 optional
	fastOptInt32            // *int32
	fastOptInt64            // *int64
	fastOptFloat64          // *float64
	fastMessage             // *T
	fastRepString           // []string
	fastRepInt32            // []int32 or []Enum
	fastRepMessage          // []*T
)

// fastFields finds, for a generated message type, each field's offset and
// kind, by the field number in its protobuf struct tag. It returns false
// for a type that is not a pointer to a struct.
func (p *plan) fastFields() bool {
	t := reflect.TypeOf(p.typ.Zero().Interface())
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return false
	}
	st := t.Elem()
	p.goType, p.goRType = st, rtype(st)
	byNumber := map[protoreflect.FieldNumber]reflect.StructField{}
	for i := range st.NumField() {
		sf := st.Field(i)
		tag := sf.Tag.Get("protobuf")
		if tag == "" {
			continue
		}
		parts := strings.Split(tag, ",")
		if len(parts) < 2 {
			continue
		}
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		byNumber[protoreflect.FieldNumber(n)] = sf
	}
	if p.untagged != nil {
		p.fastVariants(st)
	}
	for _, fp := range p.fields {
		sf, ok := byNumber[fp.fd.Number()]
		if !ok || fp.isMap {
			continue
		}
		if od := fp.fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			continue
		}
		fp.offset = sf.Offset
		fp.fast = fastKindOf(sf.Type, fp)
		if fp.fast == fastMessage || fp.fast == fastRepMessage {
			elem := sf.Type
			if elem.Kind() == reflect.Slice {
				elem = elem.Elem()
			}
			fp.goElem = elem.Elem()
		}
	}
	return true
}

// fastVariants finds how each variant of the untagged oneof is set in the
// struct st: by setting it once on a scratch message through protoreflect
// and reading back the wrapper's type and the interface's itab.
func (p *plan) fastVariants(st reflect.Type) {
	index := -1
	for i := range st.NumField() {
		if st.Field(i).Tag.Get("protobuf_oneof") == string(p.untagged.desc.Name()) {
			index = i
		}
	}
	if index < 0 {
		return
	}
	for _, v := range p.untagged.variants {
		if v.msg.goType == nil {
			continue
		}
		scratch := p.typ.New()
		scratch.Mutable(v.fd)
		field := reflect.ValueOf(scratch.Interface()).Elem().Field(index)
		if field.Kind() != reflect.Interface || field.IsNil() {
			continue
		}
		wrapper := field.Elem().Type()
		if wrapper.Kind() != reflect.Pointer || wrapper.Elem().NumField() != 1 || wrapper.Elem().Field(0).Type != reflect.PointerTo(v.msg.goType) {
			continue
		}
		slot := (*[2]unsafe.Pointer)(unsafe.Add(pointerOf(scratch.Interface()), st.Field(index).Offset))
		v.itab, v.wrapper, v.wrapperRType, v.oneofOffset = slot[0], wrapper.Elem(), rtype(wrapper.Elem()), st.Field(index).Offset
		triple := reflect.StructOf([]reflect.StructField{
			{Name: "Message", Type: st},
			{Name: "Wrapper", Type: wrapper.Elem()},
			{Name: "Variant", Type: v.msg.goType},
		})
		v.tripleRType, v.tripleWrapper, v.tripleChild = rtype(triple), triple.Field(1).Offset, triple.Field(2).Offset
	}
	p.triples = true
	for _, v := range p.untagged.variants {
		p.triples = p.triples && v.tripleRType != nil
	}
}

// allocWithVariant allocates a message of v's oneof's message type with
// its variant v set, all three in one allocation, and returns the message
// and the variant's message.
func allocWithVariant(v *variantPlan) (unsafe.Pointer, unsafe.Pointer) {
	block := unsafe_New(v.tripleRType)
	parent := block
	wrapper := unsafe.Add(block, v.tripleWrapper)
	child := unsafe.Add(block, v.tripleChild)
	*(*unsafe.Pointer)(wrapper) = child
	slot := (*[2]unsafe.Pointer)(unsafe.Add(parent, v.oneofOffset))
	slot[0], slot[1] = v.itab, wrapper
	return parent, child
}

// setVariant sets the variant v of the message at base to a new message,
// and returns it.
func setVariant(v *variantPlan, base unsafe.Pointer) unsafe.Pointer {
	child := v.msg.newAt()
	wrapper := unsafe_New(v.wrapperRType)
	*(*unsafe.Pointer)(wrapper) = child
	slot := (*[2]unsafe.Pointer)(unsafe.Add(base, v.oneofOffset))
	slot[0], slot[1] = v.itab, wrapper
	return child
}

func fastKindOf(t reflect.Type, fp *fieldPlan) fastKind {
	switch t.Kind() {
	case reflect.String:
		return fastString
	case reflect.Bool:
		return fastBool
	case reflect.Int32:
		return fastInt32
	case reflect.Int64:
		return fastInt64
	case reflect.Float64:
		return fastFloat64
	case reflect.Pointer:
		switch t.Elem().Kind() {
		case reflect.Bool:
			return fastOptBool
		case reflect.Int32:
			return fastOptInt32
		case reflect.Int64:
			return fastOptInt64
		case reflect.Float64:
			return fastOptFloat64
		case reflect.Struct:
			if fp.value.msg != nil && fp.value.msg.goType != nil {
				return fastMessage
			}
		}
	case reflect.Slice:
		switch e := t.Elem(); {
		case e.Kind() == reflect.String:
			return fastRepString
		case e.Kind() == reflect.Int32:
			return fastRepInt32
		case e.Kind() == reflect.Pointer && e.Elem().Kind() == reflect.Struct && fp.value.msg != nil && fp.value.msg.goType != nil:
			return fastRepMessage
		}
	}
	return fastNone
}

// pointerOf returns the pointer a generated message is.
func pointerOf(m proto.Message) unsafe.Pointer {
	type iface struct{ typ, data unsafe.Pointer }
	return (*iface)(unsafe.Pointer(&m)).data
}

// reflectAt is the protoreflect view of the generated message at ptr.
func (p *plan) reflectAt(ptr unsafe.Pointer) protoreflect.Message {
	return reflect.NewAt(p.goType, ptr).Interface().(proto.Message).ProtoReflect()
}

// newAt allocates a message of the plan's generated type.
func (p *plan) newAt() unsafe.Pointer {
	return unsafe_New(p.goRType)
}

// unsafe_New allocates a zero value of the type whose runtime type is t,
// as reflect.New does without building the pointer type (a lookup in a
// sync.Map for every allocation).
//
//go:linkname unsafe_New reflect.unsafe_New
func unsafe_New(t unsafe.Pointer) unsafe.Pointer

// rtype is the runtime type of t, as reflect holds it.
func rtype(t reflect.Type) unsafe.Pointer {
	type iface struct{ typ, data unsafe.Pointer }
	return (*iface)(unsafe.Pointer(&t)).data
}

// messageAt decodes a value into the generated message at base, whose
// protoreflect view m may be nil (made when a field needs it).
func (d *decoder) messageAt(pl *plan, base unsafe.Pointer, m protoreflect.Message) {
	d.messageWith(pl, base, m, nil, nil)
}

// messageWith is messageAt for a message whose untagged oneof's variant
// may be chosen and set already (chosen, at vbase).
func (d *decoder) messageWith(pl *plan, base unsafe.Pointer, m protoreflect.Message, chosen *variantPlan, vbase unsafe.Pointer) {
	view := func() protoreflect.Message {
		if m == nil {
			m = pl.reflectAt(base)
		}
		return m
	}
	switch pl.wkt {
	case wktTimestamp:
		d.timestamp(view())
		return
	case wktStruct, wktValue:
		d.message(pl, view())
		return
	}
	if pl.wrapper != nil {
		d.fieldAt(pl.wrapper, base, pl, view)
		return
	}
	if !d.want('{', "an object") {
		return
	}
	variant := chosen
	var vm protoreflect.Message
	if pl.untagged != nil && variant == nil {
		variant = d.chooseVariant(pl.untagged)
		if variant == nil {
			if d.err == nil {
				d.fail(noVariant(pl.untagged))
			}
			return
		}
		if variant.wrapper != nil {
			vbase = setVariant(variant, base)
		} else {
			vm = view().Mutable(variant.fd).Message()
			vbase = pointerOf(vm.Interface())
		}
	}
	hint, vhint := 0, 0
	for first := true; d.member(&first); {
		fp := pl.lookupFrom(d.key(), &hint)
		if fp != nil {
			d.push(fp.name)
			d.fieldAt(fp, base, pl, view)
			d.pop()
			continue
		}
		if variant != nil {
			if fp = variant.msg.lookupFrom(d.key(), &vhint); fp != nil {
				d.push(fp.name)
				d.fieldAt(fp, vbase, variant.msg, func() protoreflect.Message {
					if vm == nil {
						vm = variant.msg.reflectAt(vbase)
					}
					return vm
				})
				d.pop()
				continue
			}
		}
		d.skip()
	}
	if d.err == nil && len(pl.tagged) > 0 {
		d.checkOneofs(pl, view())
	}
}

// fieldAt decodes the value of one property into its field of the
// generated message at base: through its struct field when the fast path
// covers it, else through view().
func (d *decoder) fieldAt(fp *fieldPlan, base unsafe.Pointer, pl *plan, view func() protoreflect.Message) {
	if fp.fast == fastNone {
		d.field(fp, view())
		return
	}
	ptr := unsafe.Add(base, fp.offset)
	if d.next() == 'n' {
		d.literal("null")
		clearAt(fp.fast, ptr)
		return
	}
	switch fp.fast {
	case fastMessage:
		child := *(*unsafe.Pointer)(ptr)
		if child == nil {
			child = fp.value.msg.newAt()
			*(*unsafe.Pointer)(ptr) = child
		}
		d.messageAt(fp.value.msg, child, nil)
	case fastRepString, fastRepInt32:
		if !d.want('[', "an array") {
			return
		}
		var strs []string
		var nums []int32
		for i, first := 0, true; d.element(&first); i++ {
			d.pushIndex(i)
			v, ok := d.scalar(&fp.value)
			if !ok && d.err == nil {
				v, ok = zero(&fp.value), true
			}
			if ok {
				if fp.fast == fastRepString {
					strs = append(strs, v.String())
				} else {
					nums = append(nums, int32At(fp, v))
				}
			}
			d.pop()
		}
		if fp.fast == fastRepString {
			if strs == nil {
				strs = []string{}
			}
			*(*[]string)(ptr) = strs
		} else {
			*(*[]int32)(ptr) = nums
		}
	case fastRepMessage:
		if !d.want('[', "an array") {
			return
		}
		// The elements gather on the decoder's stack, and the list is
		// allocated once, at its length, instead of growing as it is read.
		base := len(d.ptrs)
		el := fp.value.msg
		for i, first := 0, true; d.element(&first); i++ {
			d.pushIndex(i)
			switch {
			case d.next() == 'n':
				d.literal("null")
				child := el.newAt()
				d.ptrs = append(d.ptrs, child)
				d.empty(el, el.reflectAt(child))
			case el.untagged != nil && el.triples && d.next() == '{':
				// The variant first, so that the element, the variant's
				// wrapper and its message are one allocation.
				v := d.chooseVariant(el.untagged)
				if v == nil {
					if d.err == nil {
						d.fail(noVariant(el.untagged))
					}
					break
				}
				child, vbase := allocWithVariant(v)
				d.ptrs = append(d.ptrs, child)
				d.messageWith(el, child, nil, v, vbase)
			default:
				child := el.newAt()
				d.ptrs = append(d.ptrs, child)
				d.messageAt(el, child, nil)
			}
			d.pop()
		}
		// A nested list's elements went on the stack after this list's
		// last one, and were taken off when that list ended.
		if n := len(d.ptrs) - base; n > 0 {
			elems := make([]unsafe.Pointer, n)
			copy(elems, d.ptrs[base:])
			clear(d.ptrs[base:])
			*(*[]unsafe.Pointer)(ptr) = elems
		}
		d.ptrs = d.ptrs[:base]
	case fastString:
		// The common case, without boxing the value.
		if !d.want('"', "a string") {
			return
		}
		b := d.rawString()
		if d.err == nil {
			*(*string)(ptr) = d.str(b)
		}
	default:
		v, ok := d.scalar(&fp.value)
		if !ok {
			return
		}
		switch fp.fast {
		case fastBool:
			*(*bool)(ptr) = v.Bool()
		case fastInt32:
			*(*int32)(ptr) = int32At(fp, v)
		case fastInt64:
			*(*int64)(ptr) = v.Int()
		case fastFloat64:
			*(*float64)(ptr) = v.Float()
		case fastOptBool:
			b := v.Bool()
			*(**bool)(ptr) = &b
		case fastOptInt32:
			n := int32At(fp, v)
			*(**int32)(ptr) = &n
		case fastOptInt64:
			n := v.Int()
			*(**int64)(ptr) = &n
		case fastOptFloat64:
			f := v.Float()
			*(**float64)(ptr) = &f
		}
	}
}

// int32At is an int32 or enum value as its struct field holds it.
func int32At(fp *fieldPlan, v protoreflect.Value) int32 {
	if fp.value.kind == protoreflect.EnumKind {
		return int32(v.Enum())
	}
	return int32(v.Int())
}

// clearAt sets a field to its zero value: what a null leaves.
func clearAt(kind fastKind, ptr unsafe.Pointer) {
	switch kind {
	case fastString:
		*(*string)(ptr) = ""
	case fastBool:
		*(*bool)(ptr) = false
	case fastInt32:
		*(*int32)(ptr) = 0
	case fastInt64:
		*(*int64)(ptr) = 0
	case fastFloat64:
		*(*float64)(ptr) = 0
	case fastOptBool, fastOptInt32, fastOptInt64, fastOptFloat64, fastMessage:
		*(*unsafe.Pointer)(ptr) = nil
	case fastRepString:
		*(*[]string)(ptr) = nil
	case fastRepInt32:
		*(*[]int32)(ptr) = nil
	case fastRepMessage:
		*(*[]unsafe.Pointer)(ptr) = nil
	}
}
