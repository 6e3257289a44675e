// Package codec holds the service's messages and their encodings: the
// [Message] wrapper that every method's handlers send and receive, and the
// Connect ([Connect]) and grpc-go ([GRPC]) codecs for proto and proto JSON
// that encode a [Message] sent by several calls (coalesced, cached or
// memoized) once per codec, and proto JSON with a plan made once per
// message type instead of protojson's reflection.
package codec

import (
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Message is a request or a response of any method, for connect-go's
// generic handlers and grpc-go's handler functions, which need one Go type
// for every method. It is the proto message it holds (the methods are the
// message's, so a codec or an interceptor sees a proto.Message); a
// response several calls send (coalesced, cached or memoized) also holds
// its encodings, made once per codec. A Message is never copied.
type Message struct {
	proto.Message
	// Retains is how many bytes of other memory the message keeps alive:
	// the upstream body whose bytes its strings share. A cache that keeps
	// the message is charged for them.
	Retains int
	shared  atomic.Pointer[encodings] // nil until Share
	// wire is the proto encoding of a [Transcoded] response, which the
	// proto codecs send as it is; json the proto JSON of a
	// [TranscodedJSON] response, which the JSON codecs send.
	wire, json []byte
}

// Transcoded is a response of type typ whose proto encoding, wire, was
// written straight from the upstream's body, without making the message.
// The proto codecs send those bytes. The message is decoded from them only
// when something asks for it: a JSON codec, or an interceptor that reads
// it through its proto.Message methods. wire must not be changed.
func Transcoded(wire []byte, typ protoreflect.MessageType) *Message {
	decode := func() (proto.Message, error) {
		m := typ.New().Interface()
		return m, proto.Unmarshal(wire, m)
	}
	// Retains charges the message a JSON caller may have decoded from the
	// bytes, whose strings are copies, and its JSON encoding.
	return &Message{Message: &lazyMessage{typ: typ, decode: decode}, wire: wire, Retains: 2 * len(wire)}
}

// TranscodedJSON is a response of type typ whose proto JSON, json, was
// written straight from the upstream's body, without making the message.
// The JSON codecs send those bytes. The message is made by decode (from
// the upstream's body, which it keeps) only when something asks for it: a
// proto codec, or an interceptor that reads it through its proto.Message
// methods. retains is what decode keeps alive (the body, whose bytes the
// message's strings share); json must not be changed.
func TranscodedJSON(json []byte, typ protoreflect.MessageType, retains int, decode func() (proto.Message, error)) *Message {
	return &Message{Message: &lazyMessage{typ: typ, decode: decode}, json: json, Retains: retains}
}

// Transcoded reports whether m was made by [Transcoded] or
// [TranscodedJSON].
func (m *Message) Transcoded() bool { return m.wire != nil || m.json != nil }

// lazyMessage is a message made by decode when it is first used.
type lazyMessage struct {
	once   sync.Once
	typ    protoreflect.MessageType
	decode func() (proto.Message, error)
	m      proto.Message
	err    error
	// decoded is the response holding m (see Message.Decoded).
	decoded atomic.Pointer[Message]
}

func (l *lazyMessage) ProtoReflect() protoreflect.Message { return l.get().ProtoReflect() }

func (l *lazyMessage) get() proto.Message {
	l.once.Do(func() {
		if l.m, l.err = l.decode(); l.err != nil || l.m == nil {
			l.m = l.typ.New().Interface()
		}
		l.decode = nil // what it kept is no longer needed
	})
	return l.m
}

// Decoded returns m; or, for a [Transcoded] or [TranscodedJSON] m, a
// response holding its message, made once, whose encodings are the codecs'
// own: fields by number, so that the bytes depend on the message alone and
// not on the order of the upstream's JSON. It is shared (see
// [Message.Share]) when m is.
func (m *Message) Decoded() (*Message, error) {
	l, ok := m.Message.(*lazyMessage)
	if !ok {
		return m, nil
	}
	if d := l.decoded.Load(); d != nil {
		return d, nil
	}
	msg, err := m.Proto()
	if err != nil {
		return nil, err
	}
	d := &Message{Message: msg}
	if m.shared.Load() != nil {
		d.Share()
	}
	if !l.decoded.CompareAndSwap(nil, d) {
		return l.decoded.Load(), nil
	}
	return d, nil
}

// Proto returns the message m holds, decoding a transcoded response's
// ([Transcoded], [TranscodedJSON]); and an error if that fails.
func (m *Message) Proto() (proto.Message, error) {
	if l, ok := m.Message.(*lazyMessage); ok {
		msg := l.get()
		return msg, l.err
	}
	return m.Message, nil
}

// encodings are a response's encodings, each made once, by the first call
// that sends the response with that codec.
type encodings struct {
	size   int // EncodedSize when it was shared
	binary atomic.Pointer[[]byte]
	json   atomic.Pointer[[]byte]
}

// Share marks m as sent by several calls: the codecs of this package
// encode it once per codec and copy the bytes for every call. It returns
// [EncodedSize] of m. It is safe for concurrent use.
// The size is computed once, when m is marked: a shared response, like
// every response the service makes, is never changed.
func (m *Message) Share() int {
	if enc := m.shared.Load(); enc != nil {
		return enc.size
	}
	enc := &encodings{size: EncodedSize(m)}
	if m.wire != nil {
		enc.binary.Store(&m.wire)
	}
	if m.json != nil {
		enc.json.Store(&m.json)
	}
	if !m.shared.CompareAndSwap(nil, enc) {
		return m.shared.Load().size
	}
	return enc.size
}

// EncodedSize is the size of msg's proto encoding; for a [TranscodedJSON]
// response, the size of its proto JSON, which is larger, and known without
// making the message. For a [Message] that is shared, it is the size
// computed when it was shared, without walking the message again.
func EncodedSize(msg proto.Message) int {
	if m, ok := msg.(*Message); ok {
		if enc := m.shared.Load(); enc != nil {
			return enc.size
		}
		if m.json != nil {
			return len(m.json)
		}
		if m.wire != nil {
			return len(m.wire)
		}
		return proto.Size(m.Message)
	}
	return proto.Size(msg)
}
