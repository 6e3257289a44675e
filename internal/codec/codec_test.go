package codec

import (
	"bytes"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/demo"
)

func TestSharedEncodings(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../translate/testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	translated, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	resp := &Message{Message: translated}
	for _, codec := range []*cachingCodec{{name: "proto", binary: true}, {name: "json"}} {
		plain, err := codec.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		resp.Share()
		first, err := codec.MarshalAppend([]byte("prefix"), resp)
		if err != nil {
			t.Fatal(err)
		}
		second, err := codec.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != "prefix"+string(second) {
			t.Errorf("%s: the shared encoding is not appended as is", codec.name)
		}
		decoded := &ampersandv1.GetIntegrationResponse{}
		if err := codec.Unmarshal(second, decoded); err != nil || !proto.Equal(decoded, translated) {
			t.Errorf("%s: the shared encoding does not decode to the response: %v", codec.name, err)
		}
		if codec.binary && string(plain) != string(second) {
			t.Errorf("%s: the shared encoding differs from a plain one", codec.name)
		}
	}
	if enc := resp.shared.Load(); enc == nil || enc.binary.Load() == nil || enc.json.Load() == nil {
		t.Fatal("the encodings were not kept")
	}
}

// TestSharedEncodingOfALargeResponse: a shared 200 KB response, encoded with
// the sizes Share computed, is byte for byte what proto.Marshal
// makes, and Share reports its size, on the first call and after.
func TestSharedEncodingOfALargeResponse(t *testing.T) {
	t.Parallel()
	translated, err := translateBody(demo.Sized(200_000))
	if err != nil {
		t.Fatal(err)
	}
	resp := &Message{Message: translated}
	plain, err := proto.Marshal(translated)
	if err != nil {
		t.Fatal(err)
	}
	if size := EncodedSize(resp); size != len(plain) {
		t.Errorf("EncodedSize before sharing = %d, want %d", size, len(plain))
	}
	if size := resp.Share(); size != len(plain) {
		t.Errorf("Share = %d, want %d", size, len(plain))
	}
	if size := EncodedSize(resp); size != len(plain) {
		t.Errorf("EncodedSize = %d, want %d", size, len(plain))
	}
	if size := resp.Share(); size != len(plain) {
		t.Errorf("Share again = %d, want %d", size, len(plain))
	}
	codec := &cachingCodec{name: "proto", binary: true}
	shared, err := codec.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, plain) {
		t.Error("the shared encoding differs from proto.Marshal's")
	}
}
