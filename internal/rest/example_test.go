package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ampersand-connect/gateway/internal/rest"
)

func ExampleClient_GetIntegration() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/v1/projects/my-project/integrations/read-accounts" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"title":"Not Found","status":404,"detail":"integration not found","requestId":"req-1"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"123","name":"read-accounts","provider":"salesforce"}`)
	}))
	defer upstream.Close()

	client, err := rest.New(upstream.URL + "/v1")
	if err != nil {
		panic(err)
	}
	creds := rest.Credentials{APIKey: "my-key"}
	integration, err := client.GetIntegration(context.Background(), creds, "my-project", "read-accounts")
	if err != nil {
		panic(err)
	}
	fmt.Println(integration.Name, integration.Provider)

	_, err = client.GetIntegration(context.Background(), creds, "my-project", "other")
	var upstreamErr *rest.Error
	if errors.As(err, &upstreamErr) {
		fmt.Println(upstreamErr.StatusCode, upstreamErr.Problem.RequestID, upstreamErr)
	}
	// Output:
	// read-accounts salesforce
	// 404 req-1 upstream answered 404 Not Found: integration not found
}
