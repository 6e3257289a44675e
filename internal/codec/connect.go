package codec

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Connect returns the Connect codecs the service registers on its handlers:
// proto, and proto JSON under the names "json" and "json; charset=utf-8".
// They encode as Connect's own codecs do, except that a response marked by
// [Message.Share] is encoded once and then copied, and proto JSON follows
// a plan made once per message type.
func Connect() []connect.Codec {
	return []connect.Codec{
		&cachingCodec{name: "proto", binary: true},
		&cachingCodec{name: "json"},
		&cachingCodec{name: "json; charset=utf-8"},
	}
}

// cachingCodec is Connect's proto or proto-JSON codec, except that a
// response marked by [Message.Share] is encoded once and then copied, and
// that both encodings follow plans made once per message type.
type cachingCodec struct {
	name   string
	binary bool
}

var _ connect.Codec = (*cachingCodec)(nil)

func (c *cachingCodec) Name() string { return c.name }

func (c *cachingCodec) IsBinary() bool { return c.binary }

func (c *cachingCodec) Marshal(msg any) ([]byte, error) {
	return c.MarshalAppend(nil, msg)
}

// MarshalAppend appends msg's encoding to dst. connect-go prefers it to
// Marshal, with a pooled dst.
func (c *cachingCodec) MarshalAppend(dst []byte, msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, errors.New("not a proto message")
	}
	if resp, ok := msg.(*Message); ok {
		encoded, inner, err := c.ready(resp)
		if err != nil {
			return nil, err
		}
		if encoded != nil {
			return append(dst, encoded...), nil
		}
		m = inner
	}
	return c.marshal(dst, m)
}

// ready returns resp's encoding by this codec when one is made already
// (shared, or transcoded into this codec's encoding), which must not be
// changed; else the message to encode.
func (c *cachingCodec) ready(resp *Message) ([]byte, proto.Message, error) {
	encoded, err := c.sharedEncoding(resp)
	if err != nil || encoded != nil {
		return encoded, nil, err
	}
	if c.binary && resp.wire != nil {
		return resp.wire, nil, nil
	}
	if !c.binary && resp.json != nil {
		return resp.json, nil, nil
	}
	m, err := resp.Proto()
	return nil, m, err
}

// sharedEncoding returns resp's encoding if [Message.Share] marked it,
// made on the first call; nil if it is not marked. The bytes are shared:
// they must not be changed.
func (c *cachingCodec) sharedEncoding(resp *Message) ([]byte, error) {
	entry := resp.shared.Load()
	if entry == nil {
		return nil, nil
	}
	slot := &entry.json
	if c.binary {
		slot = &entry.binary
	}
	if encoded := slot.Load(); encoded != nil {
		return *encoded, nil
	}
	m, err := resp.Proto()
	if err != nil {
		return nil, err
	}
	b, err := c.marshal(nil, m)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{} // an empty message: still marked
	}
	slot.Store(&b)
	return b, nil
}

func (c *cachingCodec) marshal(dst []byte, m proto.Message) ([]byte, error) {
	if c.binary {
		return appendWire(dst, m)
	}
	return appendJSON(dst, m)
}

// Unmarshal decodes as Connect's own codecs do; unknown JSON fields are
// discarded, so that clients may be newer than the server.
func (c *cachingCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return errors.New("not a proto message")
	}
	if w, ok := m.(*Message); ok {
		var err error
		if m, err = w.Proto(); err != nil {
			return err
		}
	}
	if c.binary {
		return proto.Unmarshal(data, m)
	}
	if len(data) == 0 {
		return errors.New("zero-length payload is not a valid JSON object")
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
}
