package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// getIntegration is the binding of GetIntegration.
var getIntegration = func() *Method {
	md := ampersandv1.File_ampersand_v1_integration_service_proto.Services().ByName("IntegrationService").Methods().ByName("GetIntegration")
	m, err := NewMethod(md)
	if err != nil {
		panic(err)
	}
	return m
}()

// translateBody translates the body of GetIntegration's 200 answer, as the
// service does, collecting the unknown enum values reported.
func translateBody(body []byte) (*ampersandv1.GetIntegrationResponse, []string, error) {
	var unknown []string
	resp, err := getIntegration.NewResponse(body, "application/json", func(path, value string) {
		unknown = append(unknown, path+"="+value)
	})
	if err != nil {
		return nil, unknown, err
	}
	return resp.(*ampersandv1.GetIntegrationResponse), unknown, nil
}

// TestTranslateGolden translates every upstream body of
// testdata/integrations and compares the proto-JSON of the response (or the
// error) and the unknown enum values reported with its .golden file.
func TestTranslateGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("testdata/integrations/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, input := range inputs {
		if strings.HasSuffix(input, ".golden.json") {
			continue
		}
		t.Run(filepath.Base(input), func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(input)
			if err != nil {
				t.Fatal(err)
			}
			resp, unknown, err := translateBody(body)
			got := goldenDocument(t, resp, unknown, err)
			goldenFile := strings.TrimSuffix(input, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(goldenFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/translate -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("translation differs from %s (run with -update to accept):\n%s", goldenFile, got)
			}
			if strings.HasPrefix(filepath.Base(input), "invalid-") != (resp == nil) {
				t.Errorf("invalid- inputs, and only they, must fail; err = %v", err)
			}
			if resp != nil {
				// The proto-JSON is strict proto-JSON: it parses back to the same message.
				roundTrip := &ampersandv1.GetIntegrationResponse{}
				if err := protojson.Unmarshal(got, roundTrip); err == nil {
					t.Fatal("the golden document is not a bare response")
				}
				var doc struct{ Response json.RawMessage }
				if err := json.Unmarshal(got, &doc); err != nil {
					t.Fatal(err)
				}
				if err := protojson.Unmarshal(doc.Response, roundTrip); err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(roundTrip, resp) {
					t.Error("proto-JSON does not round-trip")
				}
			}
		})
	}
}

// goldenDocument renders a translation's outcome as stable, indented JSON.
func goldenDocument(t *testing.T, resp *ampersandv1.GetIntegrationResponse, unknown []string, err error) []byte {
	t.Helper()
	doc := struct {
		Response          json.RawMessage `json:"response,omitempty"`
		Error             string          `json:"error,omitempty"`
		UnknownEnumValues []string        `json:"unknownEnumValues,omitempty"`
	}{UnknownEnumValues: unknown}
	if err != nil {
		doc.Error = err.Error()
	} else {
		raw, err := protojson.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		// protojson's output is deliberately unstable in white space: compact it.
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			t.Fatal(err)
		}
		doc.Response = compact.Bytes()
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestTranslatePresence(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/integrations/presence.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := translateBody(body)
	if err != nil {
		t.Fatal(err)
	}
	content := resp.GetIntegration().GetLatestRevision().GetContent()
	objects := content.GetRead().GetObjects()
	period := objects[0].GetBackfill().GetDefaultPeriod()
	if period.Days == nil || *period.Days != 0 || period.FullHistory == nil || *period.FullHistory {
		t.Errorf("days: 0 and fullHistory: false must stay set: %v", period)
	}
	if p := objects[1].GetBackfill().GetDefaultPeriod(); p == nil || p.Days != nil || p.FullHistory != nil {
		t.Errorf("an empty defaultPeriod is set and empty: %v", p)
	}
	if objects[1].GetDelivery() == nil || objects[1].GetDelivery().PageSize != nil {
		t.Errorf("delivery with nulls: %v", objects[1].GetDelivery())
	}
	if objects[2].GetBackfill() == nil || objects[2].GetBackfill().GetDefaultPeriod() != nil {
		t.Errorf("empty backfill: %v", objects[2].GetBackfill())
	}
	if proxy := content.GetProxy(); proxy.Enabled == nil || *proxy.Enabled || proxy.UseModule == nil || *proxy.UseModule {
		t.Errorf("proxy false values must stay set: %v", proxy)
	}
	if resp.GetIntegration().GetUpdateTime() != nil {
		t.Error("null updateTime must be unset")
	}
	if content.GetWatchSchema().GetAllObjects() == nil {
		t.Error("empty allObjects must be set")
	}
}

func TestTranslateFieldVariantErrorPath(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/integrations/invalid-field-variant.json")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = translateBody(body)
	var invalid *InvalidError
	if !errors.As(err, &invalid) || invalid.Path != "latestRevision.content.read.objects[1].requiredFields[1]" {
		t.Fatalf("err = %v", err)
	}
}
