package service

import (
	"github.com/ampersand-connect/gateway/internal/translate"

	"log/slog"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// validUTF8 returns s with each run of bytes that is not valid UTF-8
// replaced by U+FFFD. A string field of a protobuf message must be valid
// UTF-8, or the message does not marshal; so must gRPC's status message.
func validUTF8(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// repairUTF8 makes every string of m valid UTF-8 (see [validUTF8]).
func repairUTF8(m protoreflect.Message) { rewriteStrings(m, validUTF8) }

// rewriteStrings replaces every string s of m with f(s): its fields, the
// items of its lists, the keys and values of its maps, and the same in
// every message it holds.
func rewriteStrings(m protoreflect.Message, f func(string) string) {
	var fields []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fields = append(fields, fd) // changed after the range, which must not change m
		return true
	})
	for _, fd := range fields {
		switch {
		case fd.IsList():
			rewriteList(fd, m.Mutable(fd).List(), f)
		case fd.IsMap():
			rewriteMap(fd, m.Mutable(fd).Map(), f)
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(f(m.Get(fd).String())))
		case fd.Message() != nil:
			rewriteStrings(m.Mutable(fd).Message(), f)
		}
	}
}

func rewriteList(fd protoreflect.FieldDescriptor, list protoreflect.List, f func(string) string) {
	for i := range list.Len() {
		switch {
		case fd.Kind() == protoreflect.StringKind:
			list.Set(i, protoreflect.ValueOfString(f(list.Get(i).String())))
		case fd.Message() != nil:
			rewriteStrings(list.Get(i).Message(), f)
		}
	}
}

func rewriteMap(fd protoreflect.FieldDescriptor, m protoreflect.Map, f func(string) string) {
	type entry struct {
		key   protoreflect.MapKey
		value protoreflect.Value
	}
	var entries []entry
	m.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, entry{k, v})
		return true
	})
	for _, e := range entries {
		value := e.value
		switch {
		case fd.MapValue().Kind() == protoreflect.StringKind:
			value = protoreflect.ValueOfString(f(value.String()))
		case fd.MapValue().Message() != nil:
			rewriteStrings(value.Message(), f)
		}
		key := e.key
		if fd.MapKey().Kind() == protoreflect.StringKind {
			if rewritten := f(key.String()); rewritten != key.String() {
				m.Clear(key)
				key = protoreflect.ValueOfString(rewritten).MapKey()
			}
		}
		m.Set(key, value)
	}
}

// droppedDetails counts the error details that could not be sent.
var droppedDetails atomic.Int64

// DroppedDetails returns how many error details the process could not
// send since it started, even with their strings repaired: each also has
// an ERROR line in [slog.Default]'s log. There should be none; a count that
// grows is a bug.
func DroppedDetails() int64 { return droppedDetails.Load() }

// dropDetail counts and logs a detail that could not be marshalled. The
// marshalling error names what was wrong, never the values.
func dropDetail(name protoreflect.FullName, err error) {
	droppedDetails.Add(1)
	slog.Default().Error("error detail dropped", "detail", string(name), "error", err.Error())
}

// truncate cuts s to at most n bytes, for quoting upstream values in
// messages: on a rune boundary, so that a character is never cut in two
// (a string that was valid UTF-8 stays valid).
func truncate(s string, n int) string { return translate.Truncate(s, n) }
