package service

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ampersand-connect/gateway/internal/rest"
)

// addCorpus seeds f with every file matching pattern.
func addCorpus(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
}

// FuzzTranslate decodes and translates arbitrary upstream bodies: no panic,
// and a translated integration is always valid proto-JSON.
func FuzzTranslate(f *testing.F) {
	addCorpus(f, "../translate/testdata/integrations/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, _, err := translateBody(body)
		if err != nil {
			if toConnectError(context.Background(), err, redactor{}).Code() != connect.CodeInternal {
				t.Fatalf("a bad body must map to internal: %v", err)
			}
			return
		}
		if _, err := protojson.Marshal(resp); err != nil {
			t.Fatalf("translated integration does not marshal: %v", err)
		}
	})
}

// FuzzDecodeProblem decodes arbitrary problem bodies and maps them to
// Connect errors: no panic, exactly one ErrorInfo, the code of the status.
func FuzzDecodeProblem(f *testing.F) {
	addCorpus(f, "testdata/problems/*.json")
	f.Add([]byte(`{"type":"about:blank","title":"Bad Request","status":400,"detail":"The input message is incorrect","instance":"123456-1234-1235-4567489798","issues":[{"type":"about:blank","detail":"exampleNumericProperty should be numeric","in":"path","name":"exampleNumericProperty","value":"abc"}]}`))
	f.Add([]byte(`{"type":"urn:problem-type:exampleOrganization:exampleProblem","status":503,"retryable":true,"retryAfter":"2024-04-22T18:55:28.456076Z","context":{"name":"Rick Sanchez"}}`))
	f.Add([]byte(`<html>502</html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		problem, err := rest.DecodeProblem(body)
		if err != nil {
			problem = nil
		}
		for _, status := range []int{400, 404, 429, 500, 503} {
			connectErr := toConnectError(context.Background(), &rest.Error{StatusCode: status, Problem: problem}, redactor{})
			_ = errorInfo(t, connectErr)
			retryable := problem != nil && problem.Retryable != nil && *problem.Retryable
			if want := codeForStatus(status, retryable); connectErr.Code() != want {
				t.Fatalf("status %d: code %v, want %v", status, connectErr.Code(), want)
			}
		}
	})
}
