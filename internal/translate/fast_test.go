package translate

import (
	"testing"

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
