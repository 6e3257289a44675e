// Command goclient calls ampersand.v1.IntegrationService with connect-go and
// with grpc-go, and reads the error details of a failed call with each. Run
// it beside the quick start's server: go run ./examples/goclient
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"connectrpc.com/connect"
	// errdetails registers the google.rpc detail types: without this import
	// a client cannot decode ErrorInfo, RequestInfo or Help.
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "the server's host:port")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *addr); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, addr string) error {
	found := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "read-accounts"}
	missing := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: "nope"}

	// connect-go, speaking Connect over HTTP/1.1 (connect.WithGRPC() for gRPC).
	client := ampersandv1connect.NewIntegrationServiceClient(http.DefaultClient, "http://"+addr)
	resp, err := client.GetIntegration(ctx, connect.NewRequest(found))
	if err != nil {
		return err
	}
	field := resp.Msg.GetIntegration().GetLatestRevision().GetContent().GetRead().GetObjects()[0].GetRequiredFields()[0]
	fmt.Fprintln(w, "connect-go:", resp.Msg.GetIntegration().GetName(), "first field:", field.GetExistent().GetFieldName())

	_, err = client.GetIntegration(ctx, connect.NewRequest(missing))
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) {
		return fmt.Errorf("want a Connect error, got %v", err)
	}
	fmt.Fprintln(w, "connect-go:", connectErr.Code(), connectErr.Message())
	for _, detail := range connectErr.Details() {
		value, err := detail.Value()
		if err != nil {
			return err // a detail whose type is not linked in
		}
		printDetail(w, value)
	}

	// grpc-go, speaking gRPC over HTTP/2 without TLS.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	grpcClient := ampersandv1.NewIntegrationServiceClient(conn)
	if _, err := grpcClient.GetIntegration(ctx, found); err != nil {
		return err
	}
	_, err = grpcClient.GetIntegration(ctx, missing)
	st := status.Convert(err)
	fmt.Fprintln(w, "grpc-go:", st.Code(), st.Message())
	for _, detail := range st.Details() {
		printDetail(w, detail)
	}
	return nil
}

// printDetail prints the details the service sends; any detail that did
// not decode is an error.
func printDetail(w io.Writer, detail any) {
	switch d := detail.(type) {
	case *errdetails.ErrorInfo:
		fmt.Fprintln(w, "  ErrorInfo:", d.GetReason(), d.GetDomain(), "httpStatus", d.GetMetadata()["httpStatus"])
	case *errdetails.RequestInfo:
		fmt.Fprintln(w, "  RequestInfo:", d.GetRequestId())
	case *errdetails.Help:
		for _, link := range d.GetLinks() {
			fmt.Fprintln(w, "  Help:", link.GetUrl())
		}
	case *ampersandv1.Problem:
		fmt.Fprintln(w, "  Problem:", d.GetDetail())
	case error:
		fmt.Fprintln(w, "  a detail that did not decode:", d)
	default:
		fmt.Fprintf(w, "  %T\n", d)
	}
}
