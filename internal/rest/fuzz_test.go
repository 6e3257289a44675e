package rest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeIntegrationMatchesStd holds the fast decoder to encoding/json:
// on any body both accept or both refuse, and what they accept is equal.
func FuzzDecodeIntegrationMatchesStd(f *testing.F) {
	files, _ := filepath.Glob("../service/testdata/integrations/*.json")
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		if body, err := os.ReadFile(file); err == nil {
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, fastErr := DecodeIntegration(body)
		var std Integration
		stdErr := json.Unmarshal(body, &std)
		if !isJSONObject(body) {
			stdErr = errNotObject // DecodeIntegration refuses these before decoding
		}
		if (fastErr == nil) != (stdErr == nil) {
			t.Fatalf("fast error %v, encoding/json error %v", fastErr, stdErr)
		}
		if fastErr == nil && !reflect.DeepEqual(*fast, std) {
			t.Fatalf("fast %+v\nencoding/json %+v", *fast, std)
		}
	})
}

var errNotObject = errors.New("not a JSON object")
