package codec

import (
	"bytes"
	"testing"
	"unsafe"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// TestGRPCCodecs checks that the grpc-go codecs encode as proto and
// protojson do, and share the one encoding of a shared response.
func TestGRPCCodecs(t *testing.T) {
	t.Parallel()
	codecs := GRPC()
	if codecs[0].Name() != "proto" || codecs[1].Name() != "json" {
		t.Fatalf("codec names %q, %q", codecs[0].Name(), codecs[1].Name())
	}
	for _, codec := range codecs {
		t.Run(codec.Name(), func(t *testing.T) {
			resp := response("read-accounts")
			plain, err := codec.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			back := new(ampersandv1.GetIntegrationResponse)
			if err := codec.Unmarshal(plain, back); err != nil || !proto.Equal(back, resp) {
				t.Fatalf("round trip: %v, equal %v", err, proto.Equal(back, resp))
			}

			resp.Share()
			first, err := codec.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			second, err := codec.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first.Materialize(), plain.Materialize()) {
				t.Error("the shared encoding differs from the plain one")
			}
			if len(first) != 1 || len(second) != 1 || unsafe.SliceData(first[0].ReadOnlyData()) != unsafe.SliceData(second[0].ReadOnlyData()) {
				t.Error("a shared response was encoded twice")
			}

			if _, err := codec.Marshal("not a message"); err == nil {
				t.Error("a string was encoded")
			}
			if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0xff})}, new(ampersandv1.GetIntegrationRequest)); err == nil {
				t.Error("a malformed message was decoded")
			}
		})
	}
}
