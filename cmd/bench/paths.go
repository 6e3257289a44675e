package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

// operation is what every path of one run asks for.
type operation struct {
	name      string
	procedure string
	// restPath is the upstream's path for call n.
	restPath func(n uint64) string
	// request is the message of call n.
	request func(n uint64) proto.Message
	// decoding is the path that calls the server with a connect-go client
	// and checks the decoded answer to call n.
	decoding func(client connect.HTTPClient, url string, next func() uint64, options ...connect.ClientOption) func(context.Context) error
}

// calls numbers the calls of a run. With same, every call is call 0 and
// names the same thing; otherwise each call gets the next number, so that
// no two calls in a run name the same integration or project.
type calls struct {
	same bool
	n    atomic.Uint64
}

func (c *calls) next() uint64 {
	if c.same {
		return 0
	}
	return c.n.Add(1)
}

// integrationName is the integration that GetIntegration's call n names.
func integrationName(n uint64) string {
	if n == 0 {
		return "read-accounts"
	}
	return "integration-" + strconv.FormatUint(n, 10)
}

// projectName is the project that ListIntegrations's call n names.
func projectName(n uint64) string {
	if n == 0 {
		return "my-project"
	}
	return "project-" + strconv.FormatUint(n, 10)
}

// operations are the operations the benchmark can drive, by -op.
func operations(size int) map[string]operation {
	listLen := listLength(newIntegrationBody(0).len("read-accounts"), size)
	return map[string]operation{
		"get": {
			name:      "GetIntegration",
			procedure: ampersandv1connect.IntegrationServiceGetIntegrationProcedure,
			restPath: func(n uint64) string {
				return "/v1/projects/my-project/integrations/" + integrationName(n)
			},
			request: func(n uint64) proto.Message {
				return &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: integrationName(n)}
			},
			decoding: func(client connect.HTTPClient, url string, next func() uint64, options ...connect.ClientOption) func(context.Context) error {
				c := ampersandv1connect.NewIntegrationServiceClient(client, url, options...)
				return func(ctx context.Context) error {
					n := next()
					resp, err := c.GetIntegration(ctx, connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "my-project", IntegrationIdOrName: integrationName(n)}))
					if err == nil && resp.Msg.GetIntegration().GetName() != integrationName(n) {
						err = fmt.Errorf("asked for integration %q, got %q", integrationName(n), resp.Msg.GetIntegration().GetName())
					}
					return err
				}
			},
		},
		"list": {
			name:      "ListIntegrations",
			procedure: ampersandv1connect.IntegrationServiceListIntegrationsProcedure,
			restPath: func(n uint64) string {
				return "/v1/projects/" + projectName(n) + "/integrations"
			},
			request: func(n uint64) proto.Message {
				return &ampersandv1.ListIntegrationsRequest{ProjectIdOrName: projectName(n)}
			},
			decoding: func(client connect.HTTPClient, url string, next func() uint64, options ...connect.ClientOption) func(context.Context) error {
				c := ampersandv1connect.NewIntegrationServiceClient(client, url, options...)
				return func(ctx context.Context) error {
					n := next()
					resp, err := c.ListIntegrations(ctx, connect.NewRequest(&ampersandv1.ListIntegrationsRequest{ProjectIdOrName: projectName(n)}))
					if err != nil {
						return err
					}
					list := resp.Msg.GetIntegrations()
					if want := projectName(n) + "-0"; len(list) != listLen || list[0].GetName() != want {
						return fmt.Errorf("asked for %d integrations of %q, got %d", listLen, projectName(n), len(list))
					}
					return nil
				}
			},
		},
	}
}

// restGet is the path that GETs the operation's REST path from base.
func restGet(client *http.Client, base string, op operation, next func() uint64) func(context.Context) error {
	return func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+op.restPath(next()), nil)
		req.Header.Set("X-Api-Key", "bench-key")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// decodingPaths call the server with connect-go clients that decode every
// answer and check that it answers the call.
func decodingPaths(http1, h2c *http.Client, serverURL, grpcURL string, op operation, next func() uint64) []path {
	return []path{
		{"Connect+JSON", op.decoding(http1, serverURL, next, connect.WithProtoJSON())},
		{"Connect+proto", op.decoding(http1, serverURL, next)},
		{"Connect GET", op.decoding(http1, serverURL, next, connect.WithHTTPGet())},
		{"gRPC", op.decoding(h2c, serverURL, next, connect.WithGRPC())},
		{"gRPC port", op.decoding(h2c, grpcURL, next, connect.WithGRPC())},
	}
}

// rawPaths call the server as the proxy is called: one HTTP exchange whose
// body is read and whose status is checked, with no compression asked for.
// Each call's request is encoded as the call is made.
func rawPaths(http1, h2c *http.Client, serverURL, grpcURL string, op operation, next func() uint64) []path {
	endpoint := serverURL + op.procedure
	type encoded struct {
		method, url, contentType string
		body                     []byte
	}
	exchange := func(client *http.Client, grpc bool, encode func(proto.Message) encoded) func(context.Context) error {
		return func(ctx context.Context) error {
			e := encode(op.request(next()))
			var reader io.Reader
			if e.body != nil {
				reader = bytes.NewReader(e.body)
			}
			req, _ := http.NewRequestWithContext(ctx, e.method, e.url, reader)
			if e.contentType != "" {
				req.Header.Set("Content-Type", e.contentType)
			}
			req.Header.Set("Accept-Encoding", "identity")
			if grpc {
				req.Header.Set("Te", "trailers")
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			// An error with no message may come "trailers-only": its
			// status in the headers.
			grpcStatus := resp.Trailer.Get("Grpc-Status")
			if grpcStatus == "" {
				grpcStatus = resp.Header.Get("Grpc-Status")
			}
			switch {
			case err != nil:
				return err
			case resp.StatusCode != http.StatusOK:
				return &statusError{resp.StatusCode, grpcStatus}
			case grpc && grpcStatus != "0":
				return &statusError{resp.StatusCode, grpcStatus}
			case n == 0:
				return errors.New("empty answer")
			}
			return nil
		}
	}
	jsonPost := func(m proto.Message) encoded {
		body, _ := protojson.Marshal(m)
		return encoded{http.MethodPost, endpoint, "application/json", body}
	}
	protoPost := func(m proto.Message) encoded {
		body, _ := proto.Marshal(m)
		return encoded{http.MethodPost, endpoint, "application/proto", body}
	}
	get := func(m proto.Message) encoded {
		body, _ := proto.Marshal(m)
		query := url.Values{"encoding": {"proto"}, "base64": {"1"}, "message": {base64.RawURLEncoding.EncodeToString(body)}, "connect": {"v1"}}
		return encoded{http.MethodGet, endpoint + "?" + query.Encode(), "", nil}
	}
	framed := func(base string) func(proto.Message) encoded {
		return func(m proto.Message) encoded {
			body, _ := proto.MarshalOptions{}.MarshalAppend(make([]byte, 5, 64), m)
			binary.BigEndian.PutUint32(body[1:5], uint32(len(body)-5))
			return encoded{http.MethodPost, base + op.procedure, "application/grpc", body}
		}
	}
	return []path{
		{"Connect+JSON", exchange(http1, false, jsonPost)},
		{"Connect+proto", exchange(http1, false, protoPost)},
		{"Connect GET", exchange(http1, false, get)},
		{"gRPC", exchange(h2c, true, framed(serverURL))},
		{"gRPC grpc-go", grpcGo(serverURL, op, next)},
		{"gRPC port", exchange(h2c, true, framed(grpcURL))},
		{"gRPC port grpc-go", grpcGo(grpcURL, op, next)},
	}
}

// statusError is a server path's answer that is not a success.
type statusError struct {
	status     int
	grpcStatus string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("status %d, grpc-status %q", e.status, e.grpcStatus)
}

// shed reports whether the server refused the call for load
// (resource_exhausted: HTTP 429 on Connect, gRPC status 8).
func (e *statusError) shed() bool {
	return e.status == http.StatusTooManyRequests || e.grpcStatus == "8"
}

// rawCodec passes messages through as bytes, so that the gRPC client reads
// the answer's bytes without decoding them, like the other raw paths.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *v.(*[]byte) = data; return nil }
func (rawCodec) Name() string                       { return "proto" }

// grpcGo calls the server with grpc-go, the gRPC client most of the
// gRPC path's users run: one connection, with grpc-go's own HTTP/2.
func grpcGo(serverURL string, op operation, next func() uint64) func(context.Context) error {
	conn, err := grpc.NewClient(strings.TrimPrefix(serverURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return func(context.Context) error { return err }
	}
	return func(ctx context.Context) error {
		request, err := proto.Marshal(op.request(next()))
		if err != nil {
			return err
		}
		var answer []byte
		if err := conn.Invoke(ctx, op.procedure, &request, &answer, grpc.ForceCodec(rawCodec{})); err != nil {
			if status.Code(err) == codes.ResourceExhausted {
				return &statusError{http.StatusOK, strconv.Itoa(int(codes.ResourceExhausted))}
			}
			return err
		}
		if len(answer) == 0 {
			return errors.New("empty answer")
		}
		return nil
	}
}
