package service

import (
	"testing"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

func TestValidateAllocatesOnlyOnError(t *testing.T) {
	valid := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}
	if allocs := testing.AllocsPerRun(100, func() {
		if err := validate(valid); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("validating a valid request allocated %v times, want 0", allocs)
	}
	if err := validate(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p"}); err == nil {
		t.Error("an empty integration name was accepted")
	}
}
