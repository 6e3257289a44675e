package codec

import (
	"errors"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// GRPC returns grpc-go codecs for proto and proto JSON (gRPC's
// application/grpc+proto and application/grpc+json) that, like the
// Connect codecs of [Connect], encode a response sent by several calls
// once: the bytes are then shared, not even copied. Register them, in an
// init function, with encoding.RegisterCodecV2.
func GRPC() []encoding.CodecV2 {
	return []encoding.CodecV2{
		grpcCodec{&cachingCodec{name: "proto", binary: true}},
		grpcCodec{&cachingCodec{name: "json"}},
	}
}

// GRPCRegistered reports whether the codecs of [GRPC] are registered with
// grpc-go.
func GRPCRegistered() bool {
	_, ok := encoding.GetCodecV2("proto").(grpcCodec)
	return ok
}

// GRPCRequest is what the codecs of [GRPC] read a request into: its bytes,
// and the codec to decode them with. grpc-go answers a message its codec
// cannot decode with internal, before the handler runs; a handler that
// reads its request into a GRPCRequest decodes it itself, with
// [GRPCRequest.Decode], and can answer invalid_argument instead.
type GRPCRequest struct {
	data  []byte
	codec *cachingCodec
}

// Binary reports whether the request was read by the proto codec, whose
// response is then proto too.
func (r *GRPCRequest) Binary() bool { return r.codec != nil && r.codec.binary }

// Decode decodes the request into m, with the codec it was read by.
func (r *GRPCRequest) Decode(m proto.Message) error {
	return r.codec.Unmarshal(r.data, m)
}

type grpcCodec struct{ c *cachingCodec }

func (g grpcCodec) Name() string { return g.c.name }

func (g grpcCodec) Marshal(v any) (mem.BufferSlice, error) {
	if resp, ok := v.(*Message); ok {
		encoded, m, err := g.c.ready(resp)
		if err != nil {
			return nil, err
		}
		if encoded != nil {
			return mem.BufferSlice{mem.SliceBuffer(encoded)}, nil
		}
		v = m
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, errors.New("not a proto message")
	}
	b, err := g.c.marshal(nil, m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (g grpcCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*GRPCRequest); ok {
		r.data, r.codec = data.Materialize(), g.c
		return nil
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return g.c.Unmarshal(buf.ReadOnlyData(), v)
}
