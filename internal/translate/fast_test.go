package translate

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// TestFastPathCovers checks that the fast path covers what GetIntegration
// needs: every field of the integration tree but maps and Struct/Value,
// and the variants of its untagged oneofs.
func TestFastPathCovers(t *testing.T) {
	pl, err := planFor((&ampersandv1.IntegrationField{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pl.untagged.variants {
		if v.wrapper == nil {
			t.Errorf("variant %s: no fast path", v.fd.Name())
		}
	}
	obj, err := planFor((&ampersandv1.IntegrationObject{}).ProtoReflect().Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	for _, fp := range obj.fields {
		if fp.fast == fastNone {
			t.Errorf("IntegrationObject.%s: no fast path", fp.fd.Name())
		}
	}
	// A variant set by the fast path is the one protoreflect sees.
	resp, err := getIntegration.NewResponse([]byte(`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[{"fieldName":"a"},{"mapToName":"b"}]}]}}}}`), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	fields := resp.(*ampersandv1.GetIntegrationResponse).GetIntegration().GetLatestRevision().GetContent().GetRead().GetObjects()[0].GetRequiredFields()
	if fields[0].GetExistent().GetFieldName() != "a" || fields[1].GetMapping().GetMapToName() != "b" {
		t.Errorf("variants: %v", fields)
	}
	clone := proto.Clone(resp)
	if !proto.Equal(clone, resp) {
		t.Error("a clone differs")
	}
	if _, err := proto.Marshal(resp); err != nil {
		t.Error(err)
	}
}

// TestStringsShareTheBody: a string the JSON holds as it is shares the
// body's bytes; a string with escapes is a copy of its own, which the next
// escaped string does not overwrite.
func TestStringsShareTheBody(t *testing.T) {
	body := []byte(`{"name":"plain","id":"caf\u00e9","projectId":"a\"b","latestRevision":{"content":{"displayName":"tab\there","read":{"objects":[{"objectName":"contacts","destination":"x\\y"}]}}}}`)
	resp, err := getIntegration.NewResponse(body, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := resp.(*ampersandv1.GetIntegrationResponse).GetIntegration()
	content := in.GetLatestRevision().GetContent()
	object := content.GetRead().GetObjects()[0]
	got := []string{in.GetName(), in.GetId(), in.GetProjectId(), content.GetDisplayName(), object.GetObjectName(), object.GetDestination()}
	want := []string{"plain", "café", `a"b`, "tab\there", "contacts", `x\y`}
	if !slices.Equal(got, want) {
		t.Errorf("strings %q, want %q", got, want)
	}
	start, end := uintptr(unsafe.Pointer(&body[0])), uintptr(unsafe.Pointer(&body[len(body)-1]))
	if at := uintptr(unsafe.Pointer(unsafe.StringData(in.GetName()))); at < start || at > end {
		t.Error("a plain string was copied out of the body")
	}
	if at := uintptr(unsafe.Pointer(unsafe.StringData(in.GetId()))); at >= start && at <= end {
		t.Error("an escaped string points into the body")
	}
}

// TestRawStringStopsAtEveryByte: the word-at-a-time scan of a string stops
// at a quote, a backslash, a control character or a byte beyond ASCII
// wherever it is in the word, and a string of plain bytes of any length
// reads whole.
func TestRawStringStopsAtEveryByte(t *testing.T) {
	for n := range 20 {
		plain := strings.Repeat("a~ Z", 5)[:n]
		d := &decoder{data: []byte(`"` + plain + `"`)}
		if got := string(d.rawString()); got != plain || d.err != nil || d.pos != n+2 {
			t.Errorf("plain %q: got %q, pos %d, %v", plain, got, d.pos, d.err)
		}
		for _, special := range []string{`\"`, `\\`, `\n`, "é", "\u2028"} {
			want := plain + map[string]string{`\"`: `"`, `\\`: `\`, `\n`: "\n"}[special]
			if want == plain {
				want += special
			}
			d := &decoder{data: []byte(`"` + plain + special + `b"`)}
			if got := string(d.rawString()); got != want+"b" || d.err != nil {
				t.Errorf("%q then %q: got %q, %v", plain, special, got, d.err)
			}
		}
		for _, bad := range []string{"\x00", "\x1f", "\t"} {
			d := &decoder{data: []byte(`"` + plain + bad + `"`)}
			if d.rawString(); d.err == nil {
				t.Errorf("%q then control %q: no error", plain, bad)
			}
		}
	}
}
