package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/ampersand-connect/gateway/internal/rest"
)

func ExampleClient_Do() {
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
	getIntegration := func(project, integration string) rest.Call {
		return rest.Call{
			Method:   http.MethodGet,
			Path:     "/projects/" + url.PathEscape(project) + "/integrations/" + url.PathEscape(integration),
			Template: "/projects/{projectIdOrName}/integrations/{integrationIdOrName}",
			Retry:    true,
		}
	}
	body, err := client.Do(context.Background(), creds, getIntegration("my-project", "read-accounts"))
	if err != nil {
		panic(err)
	}
	fmt.Println(body.StatusCode, body.ContentType, string(body.Data))

	_, err = client.Do(context.Background(), creds, getIntegration("my-project", "other"))
	var upstreamErr *rest.Error
	if errors.As(err, &upstreamErr) {
		fmt.Println(upstreamErr.StatusCode, upstreamErr.Problem.RequestID, upstreamErr)
	}
	// Output:
	// 200 application/json {"id":"123","name":"read-accounts","provider":"salesforce"}
	// 404 req-1 upstream answered 404 Not Found: integration not found
}
