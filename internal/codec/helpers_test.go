package codec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/translate"
)

// getIntegration is the translator of GetIntegration, as the service uses it.
var getIntegration = func() *translate.Method {
	md := ampersandv1.File_ampersand_v1_integration_service_proto.Services().ByName("IntegrationService").Methods().ByName("GetIntegration")
	m, err := translate.NewMethod(md)
	if err != nil {
		panic(err)
	}
	return m
}()

// decodeIntegration translates the body of GetIntegration's 200 answer, as
// the service does.
func decodeIntegration(body []byte, unknownEnum func(path, value string)) (*ampersandv1.Integration, error) {
	resp, err := getIntegration.NewResponse(body, "application/json", unknownEnum)
	if err != nil {
		return nil, err
	}
	return resp.(*ampersandv1.GetIntegrationResponse).GetIntegration(), nil
}

// translateBody translates the body of GetIntegration's 200 answer into its
// response, as the service does.
func translateBody(body []byte) (*ampersandv1.GetIntegrationResponse, error) {
	integration, err := decodeIntegration(body, nil)
	if err != nil {
		return nil, err
	}
	return &ampersandv1.GetIntegrationResponse{Integration: integration}, nil
}

// response is a small response of GetIntegration.
func response(name string) *Message {
	return &Message{Message: &ampersandv1.GetIntegrationResponse{Integration: &ampersandv1.Integration{Name: name}}}
}

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
