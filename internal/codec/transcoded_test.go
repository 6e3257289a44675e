package codec

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestTranscodedConcurrentReaders: one transcoded response, shared or not,
// read at once through every codec and through its proto.Message methods.
func TestTranscodedConcurrentReaders(t *testing.T) {
	body, err := os.ReadFile("../translate/testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	translated, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(translated)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := (&cachingCodec{name: "json"}).Marshal(translated)
	if err != nil {
		t.Fatal(err)
	}
	codecs := []*cachingCodec{{name: "proto", binary: true}, {name: "json"}, {name: "json; charset=utf-8"}}
	for _, shared := range []bool{false, true} {
		resp := Transcoded(wire, translated.ProtoReflect().Type())
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if shared && i%2 == 0 {
					resp.Share()
				}
				c := codecs[i%len(codecs)]
				got, err := c.MarshalAppend(nil, resp)
				want := wantJSON
				if c.binary {
					want = wire
				}
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: %v", c.name, err)
				}
				g, err := grpcCodec{c}.Marshal(resp)
				if err != nil || !bytes.Equal(g.Materialize(), want) {
					t.Errorf("grpc %s: %v", c.name, err)
				}
				if EncodedSize(resp) != len(wire) || proto.Size(resp) != len(wire) {
					t.Errorf("sizes %d %d, want %d", EncodedSize(resp), proto.Size(resp), len(wire))
				}
				if !proto.Equal(resp, translated) {
					t.Error("proto.Equal")
				}
				if _, err := protojson.Marshal(resp); err != nil {
					t.Error(err)
				}
				if _, err := proto.Marshal(resp); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}
