package codec

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestTranscodedConcurrentReaders: one transcoded response, shared or not,
// read at once through every codec and through its proto.Message methods.
func TestTranscodedConcurrentReaders(t *testing.T) {
	translated, wire, wantJSON := transcodedFixture(t)
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

// transcodedFixture is the decoded response to full.json, and its proto
// and proto JSON encodings.
func transcodedFixture(t *testing.T) (translated proto.Message, wire, json []byte) {
	t.Helper()
	body, err := os.ReadFile("../translate/testdata/integrations/full.json")
	if err != nil {
		t.Fatal(err)
	}
	translated, err = translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if wire, err = proto.Marshal(translated); err != nil {
		t.Fatal(err)
	}
	if json, err = (&cachingCodec{name: "json"}).Marshal(translated); err != nil {
		t.Fatal(err)
	}
	return translated, wire, json
}

// TestTranscodedMessage: a transcoded response is sent as its bytes by the
// proto codecs, shared or not, and decoded for the JSON codecs and for
// anything that reads it as a message.
func TestTranscodedMessage(t *testing.T) {
	t.Parallel()
	translated, wire, wantJSON := transcodedFixture(t)
	for _, shared := range []bool{false, true} {
		resp := Transcoded(wire, translated.ProtoReflect().Type())
		if !resp.Transcoded() {
			t.Error("not transcoded")
		}
		if EncodedSize(resp) != len(wire) {
			t.Errorf("EncodedSize %d, want %d", EncodedSize(resp), len(wire))
		}
		if shared && resp.Share() != len(wire) {
			t.Errorf("Share %d, want %d", resp.Share(), len(wire))
		}
		got, err := (&cachingCodec{name: "proto", binary: true}).MarshalAppend([]byte("p"), resp)
		if err != nil || string(got) != "p"+string(wire) {
			t.Errorf("shared %v: proto codec wrote %d bytes (%v), want the transcoded %d", shared, len(got), err, len(wire))
		}
		grpcBytes, err := grpcCodec{&cachingCodec{name: "proto", binary: true}}.Marshal(resp)
		if err != nil || !bytes.Equal(grpcBytes.Materialize(), wire) {
			t.Errorf("shared %v: grpc codec did not send the transcoded bytes (%v)", shared, err)
		}
		gotJSON, err := (&cachingCodec{name: "json"}).Marshal(resp)
		if err != nil || string(gotJSON) != string(wantJSON) {
			t.Errorf("shared %v: JSON %s (%v), want %s", shared, gotJSON, err, wantJSON)
		}
		if !proto.Equal(resp, translated) {
			t.Errorf("shared %v: the message read through its methods differs", shared)
		}
	}
	bad := Transcoded([]byte{0xff}, translated.ProtoReflect().Type())
	if _, err := (&cachingCodec{name: "json"}).Marshal(bad); err == nil {
		t.Error("bytes that do not decode were written as JSON")
	}
}

// TestDecoded: a transcoded response's Decoded is made once, holds the
// decoded message, is encoded by the binary codecs' plan (fields by
// number), and is shared when the response is; any other response is its
// own Decoded.
func TestDecoded(t *testing.T) {
	t.Parallel()
	translated, wire, _ := transcodedFixture(t)
	planned, err := appendWire(nil, translated)
	if err != nil {
		t.Fatal(err)
	}
	for _, shared := range []bool{false, true} {
		resp := Transcoded(wire, translated.ProtoReflect().Type())
		if shared {
			resp.Share()
		}
		d, err := resp.Decoded()
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := resp.Decoded(); again != d {
			t.Error("Decoded made twice")
		}
		if d.Transcoded() || !proto.Equal(d, translated) {
			t.Errorf("shared %v: Decoded is not the decoded message", shared)
		}
		if (d.shared.Load() != nil) != shared {
			t.Errorf("shared %v: Decoded shared %v", shared, d.shared.Load() != nil)
		}
		got, err := (&cachingCodec{name: "proto", binary: true}).Marshal(d)
		if err != nil || !bytes.Equal(got, planned) {
			t.Errorf("shared %v: Decoded is not encoded by the plan (%v)", shared, err)
		}
	}
	plain := &Message{Message: translated}
	if d, _ := plain.Decoded(); d != plain {
		t.Error("a response that is not transcoded is not its own Decoded")
	}
}

// TestTranscodedJSONMessage: a response transcoded into proto JSON is sent
// as its bytes by the JSON codecs, shared or not, without making the
// message; the message is made once, for the proto codecs and for
// anything that reads it as a message.
func TestTranscodedJSONMessage(t *testing.T) {
	t.Parallel()
	translated, _, wantJSON := transcodedFixture(t)
	wantWire, err := (&cachingCodec{name: "proto", binary: true}).Marshal(translated)
	if err != nil {
		t.Fatal(err)
	}
	js := append([]byte(" "), wantJSON...) // not the codec's own bytes
	typ := translated.ProtoReflect().Type()
	for _, shared := range []bool{false, true} {
		var decodes atomic.Int32
		resp := TranscodedJSON(js, typ, 100, func() (proto.Message, error) {
			decodes.Add(1)
			return proto.Clone(translated), nil
		})
		if !resp.Transcoded() || resp.Retains != 100 {
			t.Errorf("Transcoded %v, Retains %d", resp.Transcoded(), resp.Retains)
		}
		if size := EncodedSize(resp); size != len(js) {
			t.Errorf("EncodedSize = %d, want the JSON's %d", size, len(js))
		}
		if shared {
			if size := resp.Share(); size != len(js) {
				t.Errorf("Share = %d, want the JSON's %d", size, len(js))
			}
		}
		for _, name := range []string{"json", "json; charset=utf-8"} {
			c := &cachingCodec{name: name}
			got, err := c.MarshalAppend(nil, resp)
			if err != nil || !bytes.Equal(got, js) {
				t.Errorf("%s, shared %v: %s, %v", name, shared, got, err)
			}
			g, err := grpcCodec{c}.Marshal(resp)
			if err != nil || !bytes.Equal(g.Materialize(), js) {
				t.Errorf("grpc %s, shared %v: %v", name, shared, err)
			}
		}
		if n := decodes.Load(); n != 0 {
			t.Errorf("shared %v: the JSON codecs made the message %d times", shared, n)
		}
		for range 2 {
			got, err := (&cachingCodec{name: "proto", binary: true}).MarshalAppend(nil, resp)
			if err != nil || !bytes.Equal(got, wantWire) {
				t.Errorf("proto, shared %v: %v", shared, err)
			}
		}
		if !proto.Equal(resp, translated) || EncodedSize(resp) != len(js) {
			t.Errorf("shared %v: the message differs, or its size %d", shared, EncodedSize(resp))
		}
		d, err := resp.Decoded()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := (&cachingCodec{name: "json"}).MarshalAppend(nil, d); err != nil || !bytes.Equal(got, wantJSON) {
			t.Errorf("decoded, shared %v: %s, %v", shared, got, err)
		}
		if n := decodes.Load(); n != 1 {
			t.Errorf("shared %v: the message was made %d times, want once", shared, n)
		}
	}
	// A message that cannot be made is an error for the proto codecs,
	// not for the JSON ones, which have the bytes.
	resp := TranscodedJSON(js, typ, 0, func() (proto.Message, error) { return nil, errors.New("no") })
	if _, err := (&cachingCodec{name: "proto", binary: true}).MarshalAppend(nil, resp); err == nil {
		t.Error("proto: no error")
	}
	if got, err := (&cachingCodec{name: "json"}).MarshalAppend(nil, resp); err != nil || !bytes.Equal(got, js) {
		t.Errorf("json: %v", err)
	}
	if m, err := resp.Proto(); err == nil || m == nil {
		t.Errorf("Proto = %v, %v; want an empty message and the error", m, err)
	}
}
