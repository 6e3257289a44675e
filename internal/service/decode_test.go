package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// twoSteps is the reference the one-pass decoder is held to: decode into
// the schema's Go types (goccy/go-json, itself held to encoding/json), then
// translate.
func twoSteps(body []byte) (*ampersandv1.Integration, error) {
	in, err := rest.DecodeIntegration(body)
	if err != nil {
		return nil, err
	}
	return translateIntegration(in, nil)
}

// hasDuplicateKeys reports whether some object of a valid JSON document
// names a property twice (also in another case): encoding/json merges those
// in ways the one-pass decoder does not copy to the letter, and no sane
// upstream sends them.
func hasDuplicateKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object, atKey bool
		keys          map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if delim, ok := tok.(json.Delim); ok {
			switch delim {
			case '{', '[':
				if top != nil && top.object {
					top.atKey = true
				}
				stack = append(stack, &frame{object: delim == '{', atKey: delim == '{', keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if s, ok := tok.(string); ok && top.atKey {
			folded := strings.ToLower(strings.NewReplacer("ſ", "s", "K", "k").Replace(s))
			if top.keys[folded] {
				return true
			}
			top.keys[folded] = true
			top.atKey = false
			continue
		}
		top.atKey = true
	}
}

func checkSameAsTwoSteps(t *testing.T, body []byte) {
	t.Helper()
	if hasDuplicateKeys(body) {
		return
	}
	fast, fastErr := decodeIntegration(body, nil)
	ref, refErr := twoSteps(body)
	if (fastErr == nil) != (refErr == nil) {
		t.Fatalf("one pass: %v; two steps: %v", fastErr, refErr)
	}
	if fastErr == nil && !proto.Equal(fast, ref) {
		t.Fatalf("one pass and two steps differ:\n%v\n%v", fast, ref)
	}
	var invalid *InvalidIntegrationError
	if fastErr != nil && !errors.As(fastErr, &invalid) {
		t.Fatalf("error %T, want *InvalidIntegrationError", fastErr)
	}
}

func TestDecodeMatchesTwoSteps(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/integrations/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) { checkSameAsTwoSteps(t, body) })
	}
	for _, body := range []string{
		` {"id":"x"} `, `{"id":"x"} x`, `{"ID":"upper"}`, `{"ſd":"long s"}`, `{"id":"\ud800\u0041\udc00"}`, "{\"id\":\"a\xffb\"}",
		`{"id":null,"latestRevision":null}`, `[]`, `null`, ``, `{"id":"x"`, `{"id":"x",}`,
		`{"latestRevision":{"content":{"read":{"objects":[null,{"backfill":{"defaultPeriod":{"days":-0}}}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"backfill":{"defaultPeriod":{"days":1.0}}}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"backfill":{"defaultPeriod":{"days":2147483648}}}]}}}}`,
		`{"latestRevision":{"content":{"read":{"objects":[{"requiredFields":[null]}]}}}}`,
		`{"latestRevision":{"content":{"subscribe":{"objects":[{"otherEvents":[null,"a"],"createEvent":null,"deleteEvent":{}}]}}}}`,
		`{"latestRevision":{"content":{"watchSchema":{"allObjects":{"fieldCreated":{"enabled":null},"fieldChanged":{"enabled":"x"}}}}}}`,
		`{"x":[[[[{"y":[1e5,-2.5E-3,true,false,null,"\u00e9"]}]]]]}`,
		`{"x":01}`, `{"x":[1,]}`, `{"x":"\q"}`, `{"x":tru}`, "{\"x\":\"\x01\"}", `{"x":-}`, `{"x":1.}`, `{"x":1e}`,
	} {
		checkSameAsTwoSteps(t, []byte(body))
	}
	checkSameAsTwoSteps(t, demo.Sized(200_000))
	if !hasDuplicateKeys([]byte(`{"a":{"b":1,"B":2}}`)) || hasDuplicateKeys([]byte(`{"a":{"b":1},"c":{"b":2}}`)) {
		t.Error("hasDuplicateKeys is wrong")
	}
}

// FuzzDecodeMatchesTwoSteps holds the one-pass decoder to the two-step
// path on any body: both refuse it, or both make the same message.
func FuzzDecodeMatchesTwoSteps(f *testing.F) {
	addCorpus(f, "testdata/integrations/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameAsTwoSteps(t, body)
	})
}
