package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/demo"
)

// checkTranscode holds Transcode and TranscodeJSON to NewResponse on body,
// as m's answer: when either writes bytes, NewResponse succeeds without
// reporting an unknown enum value, and its message equals the bytes
// unmarshaled; TranscodeJSON writes only where Transcode does. It reports
// whether Transcode wrote.
func checkTranscode(t testing.TB, m *Method, body []byte) bool {
	t.Helper()
	wire, ok := transcodeOnce(m, body, "application/json")
	if !ok {
		// The JSON transcoder gives up on all the binary one does.
		if _, ok := transcodeOnceAs(m, body, "application/json", true); ok {
			t.Fatalf("%s: transcoded to JSON a body the binary transcoder gives up on: %.300q", m.desc.Name(), body)
		}
		return false
	}
	var unknown []string
	want, err := m.NewResponse(body, "application/json", func(path, _ string) { unknown = append(unknown, path) })
	if err != nil {
		t.Fatalf("%s: transcoded a body the decoder refuses (%v): %.200q", m.desc.Name(), err, body)
	}
	if len(unknown) > 0 {
		t.Fatalf("%s: transcoded a body with unknown enum values at %v", m.desc.Name(), unknown)
	}
	got := m.response.newMessage().Interface()
	if err := proto.Unmarshal(wire, got); err != nil {
		t.Fatalf("%s: the transcoded bytes do not unmarshal: %v", m.desc.Name(), err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("%s: transcoded and decoded differ for %.300q:\n%s\n%s", m.desc.Name(), body,
			prototext.Format(got), prototext.Format(want))
	}
	if !checkTranscodeJSON(t, m, body, want) && !repeatsKeys(body) {
		t.Fatalf("%s: transcoded to the binary encoding but not to JSON: %.300q", m.desc.Name(), body)
	}
	return true
}

// checkTranscodeJSON holds TranscodeJSON to NewResponse's message, want:
// when it writes JSON, protojson reads it as want. It reports whether
// TranscodeJSON wrote.
func checkTranscodeJSON(t testing.TB, m *Method, body []byte, want proto.Message) bool {
	t.Helper()
	js, ok := transcodeOnceAs(m, body, "application/json", true)
	if !ok {
		return false
	}
	got := m.response.newMessage().Interface()
	if err := protojson.Unmarshal(js, got); err != nil {
		t.Fatalf("%s: the transcoded JSON does not unmarshal: %v\n%.500s", m.desc.Name(), err, js)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("%s: transcoded JSON and decoded differ for %.300q:\n%.500s\n%s", m.desc.Name(), body,
			js, prototext.Format(want))
	}
	return true
}

// repeatsKeys reports whether an object in body gives a key twice, which
// TranscodeJSON gives up on in maps and Structs.
func repeatsKeys(body []byte) bool {
	d := json.NewDecoder(bytes.NewReader(body))
	var walk func() bool
	walk = func() bool {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			repeats := false
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return repeats
				}
				key, _ := k.(string)
				repeats = repeats || seen[key]
				seen[key] = true
				repeats = walk() || repeats
			}
			d.Token()
			return repeats
		case json.Delim('['):
			repeats := false
			for d.More() {
				repeats = walk() || repeats
			}
			d.Token()
			return repeats
		}
		return false
	}
	return walk()
}

// transcodeOnce is Transcode without its memory of the bodies given up
// on, which would have it skip most of a test's bodies.
func transcodeOnce(m *Method, body []byte, contentType string) ([]byte, bool) {
	return transcodeOnceAs(m, body, contentType, false)
}

// transcodeOnceAs is transcodeOnce, or with json the same for
// TranscodeJSON.
func transcodeOnceAs(m *Method, body []byte, contentType string, json bool) ([]byte, bool) {
	out := &m.wire
	if json {
		out = &m.json
	}
	if !out.covered || !m.transcodes(body, contentType) {
		return nil, false
	}
	return m.transcode(body, json)
}

// restBody is the REST JSON body of a populated response of m.
func restBody(t testing.TB, m *Method) []byte {
	t.Helper()
	resp := m.response.newMessage()
	populate(resp, 0)
	e := &encoder{}
	e.message(m.response, resp)
	if e.err != nil {
		t.Fatal(e.err)
	}
	if m.responseBody == nil {
		return e.buf
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(e.buf, &props); err != nil {
		t.Fatal(err)
	}
	return props[m.responseBody.name]
}

func TestTranscodeEveryMethod(t *testing.T) {
	t.Parallel()
	transcoded := 0
	for _, m := range allMethods {
		body := restBody(t, m)
		if len(body) == 0 {
			continue // an empty response: nothing to transcode
		}
		if checkTranscode(t, m, body) {
			transcoded++
		} else if m.wire.covered {
			t.Errorf("%s: a populated response was not transcoded: %.300s", m.desc.Name(), body)
		}
	}
	if transcoded < 60 {
		t.Errorf("%d methods transcoded, want most of the 82", transcoded)
	}
	for _, name := range []string{"GetIntegration", "ListIntegrations", "GetInstallation", "ListInstallations"} {
		i := slices.IndexFunc(allMethods, func(m *Method) bool { return string(m.desc.Name()) == name })
		if !allMethods[i].wire.covered || !allMethods[i].json.covered {
			t.Errorf("%s is not transcoded", name)
		}
	}
}

func TestTranscodeMatchesDecode(t *testing.T) {
	t.Parallel()
	forEachInput(t, func(_ string, body []byte) { checkTranscode(t, getIntegration, body) })
	// What the service sees in the normal run of things is transcoded.
	list := allMethods[slices.IndexFunc(allMethods, func(m *Method) bool { return m.desc.Name() == "ListIntegrations" })]
	one := demo.Sized(0)
	for _, c := range []struct {
		m    *Method
		body []byte
	}{
		{getIntegration, one},
		{getIntegration, demo.Sized(1 << 20)},
		{getIntegration, mustRead(t, "testdata/integrations/full.json")},
		{getIntegration, mustRead(t, "testdata/integrations/unicode.json")},
		{getIntegration, mustRead(t, "testdata/integrations/timestamps.json")},
		{list, []byte("[]")},
		{list, slices.Concat([]byte("[\n"), one, []byte(",\n"), one, []byte("]\n"))},
		{getIntegration, []byte(`{"id":"x","latestRevision":{"content":{"read":{"objects":[{"requiredFields":[{"fieldName":"a"},{"mapToName":"b","mapToDisplayName":"B"}]}]}}}}`)},
		{getIntegration, []byte(`{"id":"caf\u00e9 \"q\"","name":"\ud83d\ude00"}`)},
		{getIntegration, []byte(`{"ID":"case-insensitive","createTime":"2024-01-01T00:00:00.5+02:00"}`)},
		{getIntegration, []byte(`{"id":"","name":null,"latestRevision":null}`)},
	} {
		if !checkTranscode(t, c.m, c.body) {
			t.Errorf("%s: not transcoded: %.200s", c.m.desc.Name(), c.body)
		}
	}
}

// TestTranscodeGivesUp: what the decoder would refuse, report, replace or
// merge is left to it.
func TestTranscodeGivesUp(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``, `null`, `[]`, `"x"`, `{`, `{"id":"x"} x`, `{"id":"x",}`,
		`{"id":"x","id":"y"}`,
		`{"id":"x","ID":"y"}`,
		`{"latestRevision":{"content":{"read":{"objects":[null]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[null]}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[{"fieldName":5}]}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[{"fieldName":"a","fieldName":"b"}]}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"backfill":{"defaultPeriod":{"days":1.5}}}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"backfill":{"defaultPeriod":{"days":99999999999}}}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"enabled":"sometimes"}]}}}}`,
		`{"createTime":"yesterday"}`,
		`{"id":"\ud800"}` + " x",
	} {
		if _, ok := transcodeOnce(getIntegration, []byte(body), "application/json"); ok {
			t.Errorf("transcoded %s", body)
		}
	}
	if _, ok := transcodeOnce(getIntegration, demo.Sized(0), "text/plain"); ok {
		t.Error("transcoded text/plain")
	}
	deep := bytes.Repeat([]byte(`{"latestRevision":`), 200)
	if _, ok := transcodeOnce(getIntegration, deep, "application/json"); ok {
		t.Error("transcoded a body nested past the bound")
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzTranscodeMatchesDecode holds the transcoder to the decoder on
// arbitrary bodies of any method's answer.
func FuzzTranscodeMatchesDecode(f *testing.F) {
	get := uint16(slices.IndexFunc(allMethods, func(m *Method) bool { return m.desc.Name() == "GetIntegration" }))
	addCorpusWith(f, "testdata/integrations/*.json", func(body []byte) { f.Add(get, body) })
	f.Add(get, demo.Sized(0))
	for i, m := range allMethods {
		f.Add(uint16(i), restBody(f, m))
		f.Add(uint16(i), []byte(`{}`))
		f.Add(uint16(i), []byte(`[{"id":"x","name":"n","createTime":"2024-01-01T00:00:00Z"}]`))
	}
	for _, c := range append(irregularBodies(), shapeBodies()...) {
		f.Add(uint16(slices.Index(allMethods, methodNamed(f, c.method))), []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, index uint16, body []byte) {
		checkTranscode(t, allMethods[int(index)%len(allMethods)], body)
	})
}

// BenchmarkTranscode transcodes GetIntegration's answer of about 1.6 KB
// and 1 MB; BenchmarkDecode with BenchmarkWire (package codec) is the
// other way.
func BenchmarkTranscode(b *testing.B) {
	benchmarkSizes(b, func(body []byte) error {
		if _, ok := getIntegration.Transcode(body, "application/json"); !ok {
			return errors.New("not transcoded")
		}
		return nil
	})
}

func BenchmarkTranscodeJSON(b *testing.B) {
	benchmarkSizes(b, func(body []byte) error {
		if _, ok := getIntegration.TranscodeJSON(body, "application/json"); !ok {
			return errors.New("not transcoded")
		}
		return nil
	})
}

// TestTranscodeStopsTryingWhatItGivesUpOn: bodies the transcoder gives up
// on are read twice (then decoded); after maxGiveUps in a row it tries one
// call in retryEvery, and a success makes it try every call again.
func TestTranscodeStopsTryingWhatItGivesUpOn(t *testing.T) {
	m, err := NewMethod(getIntegration.desc)
	if err != nil {
		t.Fatal(err)
	}
	unknown := mustRead(t, "testdata/integrations/unknown.json")
	for range maxGiveUps {
		if _, ok := m.Transcode(unknown, "application/json"); ok {
			t.Fatal("transcoded an unknown enum value")
		}
	}
	good := demo.Sized(0)
	for i := 1; i < retryEvery; i++ {
		if _, ok := m.Transcode(good, "application/json"); ok {
			t.Fatalf("call %d after %d give-ups was tried", i, maxGiveUps)
		}
	}
	for i := range 4 {
		if _, ok := m.Transcode(good, "application/json"); !ok {
			t.Fatalf("call %d from the retry on was not transcoded", i)
		}
	}
}

// TestTranscodeStringLengths: strings of every length up to past the
// words the writers copy at once, with the body's end right after them or
// not, plain and escaped.
func TestTranscodeStringLengths(t *testing.T) {
	t.Parallel()
	for n := range 40 {
		for _, s := range []string{strings.Repeat("a", n), strings.Repeat("é", n/2), strings.Repeat(`\"`, n/2)} {
			for _, body := range []string{
				`{"id":"` + s + `"}`,
				`{"name":"x","id":"` + s + `","provider":"` + s + `"}`,
			} {
				if !checkTranscode(t, getIntegration, []byte(body)) {
					t.Errorf("not transcoded: %s", body)
				}
			}
		}
	}
}

// TestTranscodeUnguessedUnion: a union the transcoder does not guess
// (see oneofPlan.finish) is written after the decoder's look-ahead, in
// both encodings, as the decoder reads it.
func TestTranscodeUnguessedUnion(t *testing.T) {
	field, err := planFor((&ampersandv1.IntegrationField{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	unguessed := *field
	union := *field.untagged
	union.guessable = false
	unguessed.untagged = &union
	freshID(&unguessed)
	m := &Method{response: &unguessed}
	for _, body := range []string{
		`{"fieldName":"f","mapToName":"m"}`,
		`{"mapToDisplayName":"d","mapToName":"m","prompt":"p"}`,
		`{"x":1,"fieldName":"f"}`,
	} {
		want := unguessed.newMessage()
		if err := decodeBody([]byte(body), &unguessed, want, nil); err != nil {
			t.Fatal(err)
		}
		wire, ok := m.transcode([]byte(body), false)
		got := unguessed.newMessage().Interface()
		if !ok || proto.Unmarshal(wire, got) != nil || !proto.Equal(got, want.Interface()) {
			t.Errorf("%s: binary %v %x", body, ok, wire)
		}
		js, ok := m.transcode([]byte(body), true)
		got = unguessed.newMessage().Interface()
		if !ok || protojson.Unmarshal(js, got) != nil || !proto.Equal(got, want.Interface()) {
			t.Errorf("%s: JSON %v %s", body, ok, js)
		}
	}
	if _, ok := m.transcode([]byte(`{}`), false); ok {
		t.Error("{} fits no variant, and was transcoded")
	}
}
