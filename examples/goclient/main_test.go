package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/service"
)

// startDemo serves the service over the demo's samples, in process, on a
// loopback port that speaks HTTP/1.1 and cleartext HTTP/2, as the server
// does; it returns that port's host:port and a function that stops it.
func startDemo() (addr string, stop func()) {
	upstream, err := rest.New("http://demo.invalid/v1", rest.WithHTTPClient(&http.Client{Transport: demo.Transport{Handler: demo.NewHandler()}}))
	if err != nil {
		panic(err)
	}
	svc := service.New(upstream, service.WithAnonymous())
	mux := http.NewServeMux()
	svc.Mount(mux)
	server := httptest.NewUnstartedServer(mux)
	server.Config.Protocols = new(http.Protocols)
	server.Config.Protocols.SetHTTP1(true)
	server.Config.Protocols.SetUnencryptedHTTP2(true)
	server.Start()
	return server.Listener.Addr().String(), server.Close
}

// Example runs the program against the demo: both clients read the
// integration, then the details of a not_found.
func Example() {
	addr, stop := startDemo()
	defer stop()
	if err := run(context.Background(), os.Stdout, addr); err != nil {
		panic(err)
	}
	// Output:
	// connect-go: read-accounts first field: id
	// connect-go: not_found upstream answered 404: integration "nope" not found in project "my-project": the demo has only "read-accounts" and "write-contacts" (by name or ID)
	//   ErrorInfo: NOT_FOUND api.withampersand.com httpStatus 404
	//   Problem: integration "nope" not found in project "my-project": the demo has only "read-accounts" and "write-contacts" (by name or ID)
	//   *errdetails.BadRequest
	//   RequestInfo: demo-request
	//   Help: https://docs.withampersand.com/
	// grpc-go: NotFound upstream answered 404: integration "nope" not found in project "my-project": the demo has only "read-accounts" and "write-contacts" (by name or ID)
	//   ErrorInfo: NOT_FOUND api.withampersand.com httpStatus 404
	//   Problem: integration "nope" not found in project "my-project": the demo has only "read-accounts" and "write-contacts" (by name or ID)
	//   *errdetails.BadRequest
	//   RequestInfo: demo-request
	//   Help: https://docs.withampersand.com/
}

// TestREADMEShowsTheProgram holds the README's Go client to this program:
// the README shows main.go whole, imports included.
func TestREADMEShowsTheProgram(t *testing.T) {
	t.Parallel()
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(program)+"```\n") {
		t.Error("README.md does not show examples/goclient/main.go as it is: copy the file into its Go block")
	}
}
