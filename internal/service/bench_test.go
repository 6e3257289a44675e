package service

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/demo"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// largeIntegration returns a realistic integration body of about size bytes.
func largeIntegration(tb testing.TB, size int) []byte {
	tb.Helper()
	return demo.Sized(size)
}

func BenchmarkTranslate(b *testing.B) {
	for _, size := range []int{1600, 1 << 20} {
		body := largeIntegration(b, size)
		b.Run(fmt.Sprintf("decode+translate/%dKB", len(body)/1024), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := translateBody(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkToConnectError(b *testing.B) {
	body, err := os.ReadFile("testdata/problems/full.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode+map full problem", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			problem, err := rest.DecodeProblem(body)
			if err != nil {
				b.Fatal(err)
			}
			_ = toConnectError(context.Background(), &rest.Error{StatusCode: 422, Problem: problem}, redactor{})
		}
	})
	b.Run("status only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = toConnectError(context.Background(), &rest.Error{StatusCode: 503, HasRetryAfter: true, RetryAfter: time.Second}, redactor{})
		}
	})
}

// BenchmarkGetIntegration measures one full call through the handler: a
// Connect client, the handler, the REST client and a stand-in upstream,
// all over loopback HTTP.
func BenchmarkGetIntegration(b *testing.B) {
	for _, size := range []int{1600, 1 << 20} {
		body := largeIntegration(b, size)
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		client, err := rest.New(upstream.URL)
		if err != nil {
			b.Fatal(err)
		}
		svc := New(client, WithAPIKey("k"))
		mux := http.NewServeMux()
		svc.Mount(mux)
		server := httptest.NewServer(mux)
		for _, codec := range []struct {
			name string
			opts []connect.ClientOption
		}{{"proto", nil}, {"json", []connect.ClientOption{connect.WithProtoJSON()}}} {
			caller := ampersandv1connect.NewIntegrationServiceClient(server.Client(), server.URL, codec.opts...)
			req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"})
			b.Run(fmt.Sprintf("connect+%s/%dKB", codec.name, len(body)/1024), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := caller.GetIntegration(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
			})
			// Every call names another integration: nothing is shared.
			b.Run(fmt.Sprintf("connect+%s/%dKB/distinct", codec.name, len(body)/1024), func(b *testing.B) {
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					n++
					req := connect.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i" + strconv.Itoa(n)})
					if _, err := caller.GetIntegration(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		// gRPC on grpc-go's transport (RegisterGRPC), with grpc-go's client.
		conn, err := grpc.NewClient(strings.TrimPrefix(serveGRPC(b, svc), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		grpcClient := ampersandv1.NewIntegrationServiceClient(conn)
		msg := &ampersandv1.GetIntegrationRequest{ProjectIdOrName: "p", IntegrationIdOrName: "i"}
		b.Run(fmt.Sprintf("grpc-go/%dKB", len(body)/1024), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := grpcClient.GetIntegration(context.Background(), msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		conn.Close()
		server.Close()
		upstream.Close()
	}
}

func BenchmarkDecodeOnePass(b *testing.B) {
	for _, size := range []int{1600, 1 << 20} {
		body := largeIntegration(b, size)
		b.Run(fmt.Sprintf("%dKB", len(body)/1024), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeIntegration(body, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
