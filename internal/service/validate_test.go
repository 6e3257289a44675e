package service

import (
	"testing"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/translate"
)

func TestValidateAllocatesOnlyOnError(t *testing.T) {
	if allocs := testing.AllocsPerRun(100, func() {
		if err := translate.ValidateParam("read-accounts"); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("validating a valid parameter allocated %v times, want 0", allocs)
	}
	_, err := getIntegration.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p"})
	if err == nil {
		t.Fatal("an empty integration name was accepted")
	}
	connectErr := invalidRequest(err)
	if got := connectErr.Message(); got != "invalid request: integration_id_or_name: must not be empty" {
		t.Errorf("message %q", got)
	}
}
