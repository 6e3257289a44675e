package codec

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// appendWire appends m's encoding in protobuf's binary format, as
// proto.Marshal writes it, to dst.
//
// proto.Marshal reaches a oneof's value through reflection and a map
// lookup of the wrapper's type, for every oneof of every message, and sizes
// the whole tree before it writes it; on a 1 MB integration, whose field
// mappings are oneofs, the oneofs were half of its time. This encoder
// follows a plan made once per generated message type: each field's offset
// in the Go struct and how it is written, each oneof member known by the
// interface's type word. It sizes the tree once, keeping the sizes of the
// nested messages in order, then writes it. A message type the plan does
// not cover (a map, an extension range, a group, a required field, an
// editions file) is handed, with what it holds, to proto.Marshal, with map
// entries in key order. TestWireMatchesProto, TestEncodersOnEveryLinkedType
// and FuzzWireMatchesProto hold the two to the same bytes.
func appendWire(dst []byte, m proto.Message) ([]byte, error) {
	plan := wirePlanFor(m.ProtoReflect().Descriptor(), reflect.TypeOf(m))
	if plan.fallback {
		return deterministic.MarshalAppend(dst, m)
	}
	ptr := dataPointer(m)
	if ptr == nil { // a typed nil: an empty message, as proto.Marshal has it
		return dst, nil
	}
	e := wireEncoders.Get().(*wireEncoder)
	defer wireEncoders.Put(e)
	e.sizes, e.next = e.sizes[:0], 0
	n := e.size(plan, ptr)
	dst = slices.Grow(dst, n)
	return e.write(dst, plan, ptr)
}

// deterministic writes the message types the plan does not cover: with
// their map entries in key order, so that an encoding depends only on the
// message. cachedDeterministic does so for a message that size has sized.
var (
	deterministic       = proto.MarshalOptions{Deterministic: true}
	cachedDeterministic = proto.MarshalOptions{Deterministic: true, UseCachedSize: true}
)

// wireEncoder holds the sizes of the nested messages of one encoding, in
// the order the write pass meets them.
type wireEncoder struct {
	sizes []int
	next  int
}

var wireEncoders = sync.Pool{New: func() any { return new(wireEncoder) }}

// dataPointer returns the pointer a message interface holds.
func dataPointer(m proto.Message) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&m))[1]
}

// wirePlan is how one message type is written.
type wirePlan struct {
	goType   reflect.Type // the struct
	fields   []wireField  // in the order proto.Marshal writes them
	unknown  uintptr      // offset of the unknown fields' bytes
	fallback bool         // written by proto.Marshal
}

type wireField struct {
	fd     protoreflect.FieldDescriptor
	kind   protoreflect.Kind
	card   wireCard
	packed bool
	utf8   bool // a string is checked to be UTF-8 (proto3), as proto.Marshal does
	offset uintptr
	key    []byte    // the field's tag, as written before each value
	elem   *wirePlan // of a message field
	// For a oneof: its members, told apart by the interface's type word;
	// a member's value is the wrapper's only field, at offset 0.
	members []wireMember
}

type wireMember struct {
	itab  unsafe.Pointer
	field wireField
}

// wireCard is how a field's value is held.
type wireCard uint8

const (
	cardImplicit wireCard = iota // a scalar, left out when zero
	cardAlways                   // a oneof member's scalar, written even when zero
	cardPointer                  // *T: a message, or a proto3 optional scalar
	cardRepeated                 // []T, or []*T of messages
	cardOneof                    // an interface holding one of members
)

// wirePlans caches the plans by Go type.
var wirePlans sync.Map // reflect.Type → *wirePlan

func wirePlanFor(md protoreflect.MessageDescriptor, t reflect.Type) *wirePlan {
	if plan, ok := wirePlans.Load(t); ok {
		return plan.(*wirePlan)
	}
	building := map[reflect.Type]*wirePlan{}
	plan := buildWirePlan(md, t, building)
	for nested, p := range building {
		wirePlans.LoadOrStore(nested, p)
	}
	actual, _ := wirePlans.LoadOrStore(t, plan)
	return actual.(*wirePlan)
}

// buildWirePlan makes the plan of t, a pointer to a generated message
// struct of md. building holds the plans being made, for recursive types.
func buildWirePlan(md protoreflect.MessageDescriptor, t reflect.Type, building map[reflect.Type]*wirePlan) *wirePlan {
	if plan, ok := building[t]; ok {
		return plan
	}
	plan := &wirePlan{fallback: true}
	building[t] = plan
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return plan
	}
	st := t.Elem()
	plan.goType = st
	unknown, ok := generated(st)
	if !ok || !plannable(md) {
		return plan
	}
	plan.unknown = unknown
	byNumber, oneofs := structFields(st)
	var fields []wireField
	for _, fd := range marshalOrder(md) {
		if fd.IsMap() {
			return plan
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if od.Fields().Get(0) != fd {
				continue
			}
			sf, ok := oneofs[string(od.Name())]
			if !ok {
				return plan
			}
			f, ok := oneofField(t, od, sf, building)
			if !ok {
				return plan
			}
			fields = append(fields, f)
			continue
		}
		sf, ok := byNumber[fd.Number()]
		if !ok {
			return plan
		}
		f := wireField{fd: fd, kind: fd.Kind(), card: cardOf(fd), offset: sf.Offset, packed: fd.IsPacked()}
		if !f.setKey() || !f.checkType(sf.Type, building) {
			return plan
		}
		fields = append(fields, f)
	}
	plan.fields, plan.fallback = fields, false
	return plan
}

// generated reports whether st is a message struct that protoc-gen-go
// generated (its state and unknown fields where the plans expect them),
// and returns the offset of its unknown fields.
func generated(st reflect.Type) (uintptr, bool) {
	state, ok := st.FieldByName("state")
	unknown, ok2 := st.FieldByName("unknownFields")
	if !ok || !ok2 || state.Index[0] != 0 || unknown.Type != reflect.TypeOf([]byte(nil)) {
		return 0, false
	}
	return unknown.Offset, true
}

// plannable reports whether the plans cover md's own fields: not for
// extensions, groups, required fields (which proto.Marshal and protojson
// check) or editions (whose UTF-8 checking is a per-field feature).
func plannable(md protoreflect.MessageDescriptor) bool {
	if md.ExtensionRanges().Len() > 0 || md.Syntax() == protoreflect.Editions {
		return false
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if fd.Kind() == protoreflect.GroupKind || fd.Cardinality() == protoreflect.Required {
			return false
		}
	}
	return true
}

// marshalOrder returns md's fields in the order proto.Marshal writes them:
// the fields outside a oneof by number, then the oneofs in the order they
// are declared (the order of protobuf-go's "legacy" wire output).
func marshalOrder(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	fds := md.Fields()
	order := make([]protoreflect.FieldDescriptor, fds.Len())
	for i := range order {
		order[i] = fds.Get(i)
	}
	oneofOf := func(fd protoreflect.FieldDescriptor) protoreflect.OneofDescriptor {
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			return od
		}
		return nil
	}
	slices.SortStableFunc(order, func(a, b protoreflect.FieldDescriptor) int {
		oa, ob := oneofOf(a), oneofOf(b)
		switch {
		case (oa == nil) != (ob == nil):
			if oa == nil {
				return -1
			}
			return 1
		case oa != nil && oa != ob:
			return oa.Index() - ob.Index()
		}
		return int(a.Number()) - int(b.Number())
	})
	return order
}

// cardOf is how a field that is not in a oneof holds its value.
func cardOf(fd protoreflect.FieldDescriptor) wireCard {
	switch {
	case fd.IsList():
		return cardRepeated
	case fd.Message() != nil || fd.HasPresence():
		return cardPointer
	default:
		return cardImplicit
	}
}

// oneofField plans the oneof od held by the interface field sf.
func oneofField(t reflect.Type, od protoreflect.OneofDescriptor, sf reflect.StructField, building map[reflect.Type]*wirePlan) (wireField, bool) {
	f := wireField{card: cardOneof, offset: sf.Offset}
	members, ok := oneofMembers(t, od, sf)
	if !ok {
		return f, false
	}
	for _, m := range members {
		member := wireField{fd: m.fd, kind: m.fd.Kind(), card: cardAlways}
		if m.fd.Message() != nil {
			member.card = cardPointer
		}
		if !member.setKey() || !member.checkType(m.valueType, building) {
			return f, false
		}
		f.members = append(f.members, wireMember{itab: m.itab, field: member})
	}
	return f, true
}

// oneofMember is a member of a oneof of a generated message: the field,
// the type word of the interface that holds its wrapper, and the type of
// the wrapper's only field, its value.
type oneofMember struct {
	fd        protoreflect.FieldDescriptor
	itab      unsafe.Pointer
	valueType reflect.Type
}

// oneofMembers finds the members of the oneof od, held by the interface
// field sf of the struct t points to, by setting each on a scratch message
// and reading back the interface's type word.
func oneofMembers(t reflect.Type, od protoreflect.OneofDescriptor, sf reflect.StructField) ([]oneofMember, bool) {
	mt, ok := reflect.New(t.Elem()).Interface().(proto.Message)
	if !ok || sf.Type.Kind() != reflect.Interface {
		return nil, false
	}
	var members []oneofMember
	for i := range od.Fields().Len() {
		fd := od.Fields().Get(i)
		scratch := mt.ProtoReflect().New()
		if fd.Message() != nil {
			scratch.Set(fd, scratch.NewField(fd))
		} else {
			scratch.Set(fd, fd.Default())
		}
		slot := (*[2]unsafe.Pointer)(unsafe.Add(dataPointer(scratch.Interface()), sf.Offset))
		wrapper := reflect.ValueOf(scratch.Interface()).Elem().FieldByIndex(sf.Index)
		if slot[0] == nil || wrapper.IsNil() {
			return nil, false
		}
		wt := wrapper.Elem().Type()
		if wt.Kind() != reflect.Pointer || wt.Elem().Kind() != reflect.Struct || wt.Elem().NumField() != 1 {
			return nil, false
		}
		members = append(members, oneofMember{fd: fd, itab: slot[0], valueType: wt.Elem().Field(0).Type})
	}
	return members, true
}

// structFields returns the fields of a generated message struct st by
// field number, and its oneofs' interface fields by oneof name.
func structFields(st reflect.Type) (map[protoreflect.FieldNumber]reflect.StructField, map[string]reflect.StructField) {
	byNumber := map[protoreflect.FieldNumber]reflect.StructField{}
	oneofs := map[string]reflect.StructField{}
	for i := range st.NumField() {
		sf := st.Field(i)
		if name := sf.Tag.Get("protobuf_oneof"); name != "" {
			oneofs[name] = sf
			continue
		}
		parts := strings.Split(sf.Tag.Get("protobuf"), ",")
		if len(parts) < 2 {
			continue
		}
		if n, err := strconv.Atoi(parts[1]); err == nil {
			byNumber[protoreflect.FieldNumber(n)] = sf
		}
	}
	return byNumber, oneofs
}

// setKey sets the tag written before the field's values.
func (f *wireField) setKey() bool {
	wt, ok := wireTypes[f.kind]
	if !ok {
		return false
	}
	if f.card == cardRepeated && f.packed {
		wt = protowire.BytesType
	}
	f.key = protowire.AppendTag(nil, f.fd.Number(), wt)
	f.utf8 = f.fd.Syntax() == protoreflect.Proto3
	return true
}

var wireTypes = map[protoreflect.Kind]protowire.Type{
	protoreflect.BoolKind: protowire.VarintType, protoreflect.EnumKind: protowire.VarintType,
	protoreflect.Int32Kind: protowire.VarintType, protoreflect.Int64Kind: protowire.VarintType,
	protoreflect.Uint32Kind: protowire.VarintType, protoreflect.Uint64Kind: protowire.VarintType,
	protoreflect.Sint32Kind: protowire.VarintType, protoreflect.Sint64Kind: protowire.VarintType,
	protoreflect.Fixed32Kind: protowire.Fixed32Type, protoreflect.Sfixed32Kind: protowire.Fixed32Type,
	protoreflect.FloatKind: protowire.Fixed32Type, protoreflect.Fixed64Kind: protowire.Fixed64Type,
	protoreflect.Sfixed64Kind: protowire.Fixed64Type, protoreflect.DoubleKind: protowire.Fixed64Type,
	protoreflect.StringKind: protowire.BytesType, protoreflect.BytesKind: protowire.BytesType,
	protoreflect.MessageKind: protowire.BytesType,
}

// scalarSizes are the sizes in memory of the scalar kinds' Go values, by
// kind; 0 for the others.
var scalarSizes = func() (sizes [32]uintptr) {
	for _, k := range []protoreflect.Kind{protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind} {
		sizes[k] = 4
	}
	for _, k := range []protoreflect.Kind{protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind,
		protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind} {
		sizes[k] = 8
	}
	sizes[protoreflect.BoolKind] = 1
	return sizes
}()

// checkType checks that the Go type holding the field's value is the one
// the plan writes from, and plans a message field's type.
func (f *wireField) checkType(gt reflect.Type, building map[reflect.Type]*wirePlan) bool {
	if f.card == cardRepeated {
		if gt.Kind() != reflect.Slice {
			return false
		}
		gt = gt.Elem()
	} else if f.card == cardPointer && f.kind != protoreflect.MessageKind {
		if gt.Kind() != reflect.Pointer {
			return false
		}
		gt = gt.Elem()
	}
	switch f.kind {
	case protoreflect.MessageKind:
		if gt.Kind() != reflect.Pointer {
			return false
		}
		f.elem = buildWirePlan(f.fd.Message(), gt, building)
		return true
	case protoreflect.StringKind:
		return gt.Kind() == reflect.String
	case protoreflect.BytesKind:
		return gt.Kind() == reflect.Slice && gt.Elem().Kind() == reflect.Uint8
	}
	if int(f.kind) >= len(scalarSizes) || scalarSizes[f.kind] == 0 {
		return false
	}
	size := scalarSizes[f.kind]
	return gt.Size() == size && gt.Kind() != reflect.Pointer && gt.Kind() != reflect.Slice
}

// size returns the size of the message at ptr, and records the sizes of
// its nested messages for write.
func (e *wireEncoder) size(plan *wirePlan, ptr unsafe.Pointer) int {
	if plan.fallback {
		return proto.Size(reflect.NewAt(plan.goType, ptr).Interface().(proto.Message))
	}
	n := len(*(*[]byte)(unsafe.Add(ptr, plan.unknown)))
	for i := range plan.fields {
		f := &plan.fields[i]
		at := unsafe.Add(ptr, f.offset)
		if f.card == cardRepeated {
			n += e.repeatedSize(f, at)
		} else if g, v, ok := f.held(at); ok {
			n += len(g.key) + e.valueSize(g, v)
		}
	}
	return n
}

// held returns the field whose value a message holds at at, f or one of
// its oneof's members, and where that value is: for a *T field, what the
// pointer points to; for a oneof's member, its wrapper's only field or
// (for a message) what that points to, nil included. It returns false when
// nothing is written: a scalar at its zero, a nil pointer, an unset oneof.
// f is not repeated.
func (f *wireField) held(at unsafe.Pointer) (*wireField, unsafe.Pointer, bool) {
	switch f.card {
	case cardImplicit:
		return f, at, !isZero(f.kind, at)
	case cardPointer:
		p := *(*unsafe.Pointer)(at)
		return f, p, p != nil
	}
	iface := (*[2]unsafe.Pointer)(at)
	if iface[0] == nil || iface[1] == nil {
		return nil, nil, false
	}
	for i := range f.members {
		if member := &f.members[i].field; f.members[i].itab == iface[0] {
			if member.card == cardPointer {
				return member, *(*unsafe.Pointer)(iface[1]), true
			}
			return member, iface[1], true
		}
	}
	return nil, nil, false
}

// valueSize is the size of the value at p, without its tag: a message's
// (recorded for writeValue; a nil message is empty), or a scalar's.
func (e *wireEncoder) valueSize(f *wireField, p unsafe.Pointer) int {
	if f.kind != protoreflect.MessageKind {
		return valueSize(f.kind, p)
	}
	i := len(e.sizes)
	e.sizes = append(e.sizes, 0)
	if p == nil { // a oneof's member or a list's element: empty
		return protowire.SizeVarint(0)
	}
	n := e.size(f.elem, p)
	e.sizes[i] = n
	return protowire.SizeVarint(uint64(n)) + n
}

func (e *wireEncoder) repeatedSize(f *wireField, at unsafe.Pointer) int {
	switch f.kind {
	case protoreflect.MessageKind:
		list := *(*[]unsafe.Pointer)(at)
		n := len(list) * len(f.key)
		for _, p := range list {
			n += e.valueSize(f, p)
		}
		return n
	case protoreflect.StringKind:
		list := *(*[]string)(at)
		n := len(list) * len(f.key)
		for _, s := range list {
			n += protowire.SizeBytes(len(s))
		}
		return n
	case protoreflect.BytesKind:
		list := *(*[][]byte)(at)
		n := len(list) * len(f.key)
		for _, s := range list {
			n += protowire.SizeBytes(len(s))
		}
		return n
	}
	count, data := sliceOf(at)
	if count == 0 {
		return 0
	}
	step := scalarSizes[f.kind]
	n := 0
	for i := range count {
		n += valueSize(f.kind, unsafe.Add(data, uintptr(i)*step))
	}
	if f.packed {
		return len(f.key) + protowire.SizeVarint(uint64(n)) + n
	}
	return count*len(f.key) + n
}

func sliceOf(at unsafe.Pointer) (int, unsafe.Pointer) {
	header := (*struct {
		data unsafe.Pointer
		len  int
		cap  int
	})(at)
	return header.len, header.data
}

// write appends the message at ptr, with the sizes that size recorded.
func (e *wireEncoder) write(b []byte, plan *wirePlan, ptr unsafe.Pointer) ([]byte, error) {
	if plan.fallback {
		return cachedDeterministic.MarshalAppend(b, reflect.NewAt(plan.goType, ptr).Interface().(proto.Message))
	}
	var err error
	for i := range plan.fields {
		f := &plan.fields[i]
		at := unsafe.Add(ptr, f.offset)
		if f.card == cardRepeated {
			b, err = e.writeRepeated(b, f, at)
		} else if g, v, ok := f.held(at); ok {
			b, err = e.writeValue(append(b, g.key...), g, v)
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, *(*[]byte)(unsafe.Add(ptr, plan.unknown))...), nil
}

// writeValue appends the value at p, without its tag, as valueSize sized it.
func (e *wireEncoder) writeValue(b []byte, f *wireField, p unsafe.Pointer) ([]byte, error) {
	if f.kind != protoreflect.MessageKind {
		return appendValue(b, f, p)
	}
	n := e.sizes[e.next]
	e.next++
	b = protowire.AppendVarint(b, uint64(n))
	if p == nil {
		return b, nil
	}
	return e.write(b, f.elem, p)
}

func (e *wireEncoder) writeRepeated(b []byte, f *wireField, at unsafe.Pointer) ([]byte, error) {
	var err error
	switch f.kind {
	case protoreflect.MessageKind:
		for _, p := range *(*[]unsafe.Pointer)(at) {
			b = append(b, f.key...)
			if b, err = e.writeValue(b, f, p); err != nil {
				return b, err
			}
		}
		return b, nil
	case protoreflect.StringKind:
		list := *(*[]string)(at)
		for i := range list {
			b = append(b, f.key...)
			if b, err = appendValue(b, f, unsafe.Pointer(&list[i])); err != nil {
				return b, err
			}
		}
		return b, nil
	case protoreflect.BytesKind:
		list := *(*[][]byte)(at)
		for i := range list {
			b = append(b, f.key...)
			b, _ = appendValue(b, f, unsafe.Pointer(&list[i]))
		}
		return b, nil
	}
	count, data := sliceOf(at)
	if count == 0 {
		return b, nil
	}
	step := scalarSizes[f.kind]
	if f.packed {
		n := 0
		for i := range count {
			n += valueSize(f.kind, unsafe.Add(data, uintptr(i)*step))
		}
		b = append(b, f.key...)
		b = protowire.AppendVarint(b, uint64(n))
	}
	for i := range count {
		if !f.packed {
			b = append(b, f.key...)
		}
		b, _ = appendValue(b, f, unsafe.Add(data, uintptr(i)*step))
	}
	return b, nil
}

// isZero reports whether the scalar at p is its kind's zero, which proto3
// leaves out. A float is zero only as +0, as proto.Marshal has it.
func isZero(kind protoreflect.Kind, p unsafe.Pointer) bool {
	switch kind {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return len(*(*string)(p)) == 0
	case protoreflect.BoolKind:
		return !*(*bool)(p)
	}
	switch scalarSizes[kind] {
	case 4:
		return *(*uint32)(p) == 0
	case 8:
		return *(*uint64)(p) == 0
	}
	return false
}

// valueSize is the size of the scalar at p, without its tag.
func valueSize(kind protoreflect.Kind, p unsafe.Pointer) int {
	switch kind {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return protowire.SizeBytes(len(*(*string)(p)))
	case protoreflect.BoolKind:
		return 1
	case protoreflect.EnumKind, protoreflect.Int32Kind:
		return protowire.SizeVarint(uint64(int64(*(*int32)(p))))
	case protoreflect.Uint32Kind:
		return protowire.SizeVarint(uint64(*(*uint32)(p)))
	case protoreflect.Sint32Kind:
		return protowire.SizeVarint(protowire.EncodeZigZag(int64(*(*int32)(p))))
	case protoreflect.Int64Kind, protoreflect.Uint64Kind:
		return protowire.SizeVarint(*(*uint64)(p))
	case protoreflect.Sint64Kind:
		return protowire.SizeVarint(protowire.EncodeZigZag(*(*int64)(p)))
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return 4
	default: // the fixed 64-bit kinds
		return 8
	}
}

// errInvalidUTF8 is proto.Marshal's refusal of a string that is not UTF-8.
var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// appendValue appends the scalar at p, without its tag.
func appendValue(b []byte, f *wireField, p unsafe.Pointer) ([]byte, error) {
	switch f.kind {
	case protoreflect.StringKind:
		s := *(*string)(p)
		if f.utf8 && !utf8.ValidString(s) {
			return b, errors.Join(errInvalidUTF8, errors.New(string(f.fd.FullName())))
		}
		b = protowire.AppendVarint(b, uint64(len(s)))
		return append(b, s...), nil
	case protoreflect.BytesKind:
		s := *(*[]byte)(p)
		b = protowire.AppendVarint(b, uint64(len(s)))
		return append(b, s...), nil
	case protoreflect.BoolKind:
		if *(*bool)(p) {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case protoreflect.EnumKind, protoreflect.Int32Kind:
		return protowire.AppendVarint(b, uint64(int64(*(*int32)(p)))), nil
	case protoreflect.Uint32Kind:
		return protowire.AppendVarint(b, uint64(*(*uint32)(p))), nil
	case protoreflect.Sint32Kind:
		return protowire.AppendVarint(b, protowire.EncodeZigZag(int64(*(*int32)(p)))), nil
	case protoreflect.Int64Kind, protoreflect.Uint64Kind:
		return protowire.AppendVarint(b, *(*uint64)(p)), nil
	case protoreflect.Sint64Kind:
		return protowire.AppendVarint(b, protowire.EncodeZigZag(*(*int64)(p))), nil
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.AppendFixed32(b, *(*uint32)(p)), nil
	default: // the fixed 64-bit kinds
		return protowire.AppendFixed64(b, *(*uint64)(p)), nil
	}
}
