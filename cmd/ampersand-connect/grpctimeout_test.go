package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"connectrpc.com/grpchealth"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

func TestGRPCTimeoutValid(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"1S": true, "99999999H": true, "0n": true, "10m": true, "5u": true, "3M": true,
		"": false, "1": false, "S": false, "1x": false, "123456789S": false, "-1S": false, "+1S": false, "1.5S": false, "abcS": false,
	} {
		if got := grpcTimeoutValid(v); got != want {
			t.Errorf("grpcTimeoutValid(%q) = %v", v, got)
		}
	}
}

// TestBadGRPCTimeout sends calls with a grpc-timeout that does not parse,
// frame by frame, to both listeners: each gets invalid_argument with an
// ErrorInfo, as the main listener has always answered. Calls before and
// after on the same connection, whose headers refer to the compression
// table the bad ones changed, are served as usual.
func TestBadGRPCTimeout(t *testing.T) {
	t.Parallel()
	p := startPorts(t, newTestService(t), grpchealth.NewStaticChecker())
	procedure := ampersandv1connect.IntegrationServiceGetIntegrationProcedure
	for _, port := range []struct{ name, url string }{{"main", p.main}, {"gRPC", p.grpc}} {
		c := dialRaw(t, strings.TrimPrefix(port.url, "http://"))
		call := func(timeout string, extra ...hpack.HeaderField) (status, message, details string) {
			t.Helper()
			if timeout != "" {
				extra = append(extra, hpack.HeaderField{Name: "grpc-timeout", Value: timeout})
			}
			id, err := c.request(procedure, extra...)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.message(id, getIntegration("i")); err != nil {
				t.Fatal(err)
			}
			c.waitEnded(id, 10*time.Second)
			return c.field(id, "grpc-status"), c.field(id, "grpc-message"), c.field(id, "grpc-status-details-bin")
		}
		wantServed := func(timeout string) {
			t.Helper()
			if got, msg, _ := call(timeout, hpack.HeaderField{Name: "x-api-key", Value: "a-key"}); got != "5" { // not_found, from the upstream
				t.Errorf("%s port, grpc-timeout %q: grpc-status %q (%s), want 5", port.name, timeout, got, msg)
			}
		}
		wantServed("")
		wantServed("10S")
		// A block padded, with a priority, cut in frames of 7 bytes.
		long := hpack.HeaderField{Name: "x-long", Value: strings.Repeat("v", 40000)}
		for _, timeout := range []string{"10S", "bad"} {
			id, err := c.requestSplit(procedure, 7, long, hpack.HeaderField{Name: "grpc-timeout", Value: timeout})
			if err != nil {
				t.Fatal(err)
			}
			_ = c.message(id, getIntegration("i"))
			c.waitEnded(id, 10*time.Second)
			if got, want := c.field(id, "grpc-status"), map[string]string{"10S": "5", "bad": "3"}[timeout]; got != want {
				t.Errorf("%s port, split block, grpc-timeout %q: grpc-status %q, want %s", port.name, timeout, got, want)
			}
		}
		wantServed("10S")
		for _, bad := range []string{"1", "S", "1x", "123456789S", "-1S", "1.5S"} {
			got, msg, details := call(bad)
			if got != "3" || !strings.Contains(msg, "timeout") {
				t.Errorf("%s port, grpc-timeout %q: grpc-status %q (%s), want 3", port.name, bad, got, msg)
			}
			raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(details, "="))
			st := &status.Status{}
			info := &errdetails.ErrorInfo{}
			if err != nil || proto.Unmarshal(raw, st) != nil || len(st.GetDetails()) != 1 ||
				st.GetDetails()[0].UnmarshalTo(info) != nil || info.GetReason() != "INVALID_REQUEST" {
				t.Errorf("%s port, grpc-timeout %q: details %v %v", port.name, bad, st, err)
			}
			wantServed("10S")
			wantServed("")
		}
	}
}

// readerConn is a connection that reads from r.
type readerConn struct {
	net.Conn
	r io.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// BenchmarkTimeoutCheckingConn reads 1,000 calls' frames, as grpc-go's
// client sends them, through the header reader and straight.
func BenchmarkTimeoutCheckingConn(b *testing.B) {
	var stream bytes.Buffer
	stream.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&stream, nil)
	var blk bytes.Buffer
	enc := hpack.NewEncoder(&blk)
	const calls = 1000
	for i := range calls {
		blk.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "localhost:9090"},
			{Name: ":path", Value: "/ampersand.v1.IntegrationService/GetIntegration"}, {Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
			{Name: "grpc-timeout", Value: "29999m"}, {Name: "user-agent", Value: "grpc-go/1.85.0"}, {Name: "x-api-key", Value: "key-0123456789abcdef"}} {
			enc.WriteField(f)
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: blk.Bytes(), EndHeaders: true})
		fr.WriteData(uint32(2*i+1), true, make([]byte, 40))
	}
	data := stream.Bytes()
	buf := make([]byte, 32<<10)
	b.Run("checked", func(b *testing.B) {
		for b.Loop() {
			c := newTimeoutCheckingConn(readerConn{r: bytes.NewReader(data)})
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*calls), "ns/call")
	})
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			r := bytes.NewReader(data)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*calls), "ns/call")
	})
}
