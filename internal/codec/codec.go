// Package codec holds the service's messages and their encodings: the
// [Message] wrapper that every method's handlers send and receive, and the
// Connect ([Connect]) and grpc-go ([GRPC]) codecs for proto and proto JSON
// that encode a [Message] sent by several calls (coalesced, cached or
// memoized) once per codec, and proto JSON with a plan made once per
// message type instead of protojson's reflection.
package codec

import (
	"sync/atomic"

	"google.golang.org/protobuf/proto"
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
}

// encodings are a response's encodings, each made once, by the first call
// that sends the response with that codec.
type encodings struct {
	size   int // the proto encoding's size, computed when it was shared
	binary atomic.Pointer[[]byte]
	json   atomic.Pointer[[]byte]
}

// Share marks m as sent by several calls: the codecs of this package
// encode it once per codec and copy the bytes for every call. It returns
// m's encoded size. It is safe for concurrent use.
// The size is computed once, when m is marked: a shared response, like
// every response the service makes, is never changed.
func (m *Message) Share() int {
	if enc := m.shared.Load(); enc != nil {
		return enc.size
	}
	enc := &encodings{size: proto.Size(m.Message)}
	if !m.shared.CompareAndSwap(nil, enc) {
		return m.shared.Load().size
	}
	return enc.size
}

// EncodedSize is the size of msg's proto encoding: for a [Message] that is
// shared, the size computed when it was shared, without walking the
// message again.
func EncodedSize(msg proto.Message) int {
	if m, ok := msg.(*Message); ok {
		if enc := m.shared.Load(); enc != nil {
			return enc.size
		}
		return proto.Size(m.Message)
	}
	return proto.Size(msg)
}
