package service

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
)

func TestTruncateCutsOnRuneBoundaries(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		strings.Repeat("é", 700),        // 2 bytes a character
		"a" + strings.Repeat("é", 700),  // the same, shifted by one
		strings.Repeat("漢", 500),        // 3 bytes
		"ab" + strings.Repeat("🙂", 400), // 4 bytes, shifted by two
		strings.Repeat("x", 2000),
	} {
		for _, n := range []int{1, 2, 3, 64, 1023, 1024} {
			got := truncate(s, n)
			if !utf8.ValidString(got) || len(got) > n+len("...") || !strings.HasPrefix(s, strings.TrimSuffix(got, "...")) {
				t.Errorf("truncate(%.8q..., %d) = %q", s, n, got)
			}
		}
	}
	if got := truncate("short", 64); got != "short" {
		t.Errorf("truncate of a short string = %q", got)
	}
}

func TestRepairUTF8(t *testing.T) {
	t.Parallel()
	bad := "ok\xff\xfeok"
	p := &ampersandv1.Problem{
		Title:  bad,
		Causes: []string{"fine", bad},
		Context: &structpb.Struct{Fields: map[string]*structpb.Value{
			bad:   structpb.NewStringValue(bad),
			"key": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue(bad)}}),
		}},
		Issues: []*ampersandv1.InputValidationIssue{{Detail: bad, Value: structpb.NewStringValue(bad)}},
	}
	if _, err := proto.Marshal(p); err == nil {
		t.Fatal("the broken problem marshals: the test proves nothing")
	}
	repairUTF8(p.ProtoReflect())
	if _, err := proto.Marshal(p); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	want := "ok\uFFFDok"
	if p.GetTitle() != want || p.GetCauses()[1] != want || p.GetIssues()[0].GetDetail() != want ||
		p.GetIssues()[0].GetValue().GetStringValue() != want ||
		p.GetContext().GetFields()[want].GetStringValue() != want ||
		p.GetContext().GetFields()["key"].GetListValue().GetValues()[0].GetStringValue() != want {
		t.Errorf("repaired = %v", p)
	}
}

// TestMultibyteProblemThroughProtocols sends, through every protocol on
// both transports, problems whose detail or title is longer than the
// message's bound in characters of two, three and four bytes, cut in the
// middle of one: each client gets the upstream's code, a valid message and
// every detail, the whole problem among them.
func TestMultibyteProblemThroughProtocols(t *testing.T) {
	t.Parallel()
	for name, text := range map[string]string{
		"two bytes":   "a" + strings.Repeat("é", 700),
		"three bytes": "a" + strings.Repeat("漢", 500),
		"four bytes":  "ab" + strings.Repeat("🙂", 400),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, field := range []string{"detail", "title"} {
				body, _ := json.Marshal(map[string]any{
					field: text, "status": 404, "requestId": "req-1",
					"issues": []map[string]any{{"name": "integrationIdOrName", "detail": text}},
				})
				t.Run(field, func(t *testing.T) {
					t.Parallel()
					forEachClient(t, func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("Content-Type", "application/problem+json")
						w.WriteHeader(404)
						_, _ = w.Write(body)
					}, nil, func(t *testing.T, f *fixture, client ampersandv1connect.IntegrationServiceClient) {
						_, err := client.GetIntegration(context.Background(), request("p", "x", "X-Api-Key", "k"))
						connectErr := asConnectError(t, err)
						if connectErr.Code() != connect.CodeNotFound {
							t.Fatalf("%s: err = %v", field, err)
						}
						want := "upstream answered 404: " + truncate(text, maxMessageLen)
						if msg := connectErr.Message(); msg != want || !utf8.ValidString(msg) {
							t.Errorf("%s: message = %q, want %q", field, msg, want)
						}
						if errorInfo(t, connectErr).GetReason() != "NOT_FOUND" {
							t.Errorf("%s: no ErrorInfo", field)
						}
						p := detail[*ampersandv1.Problem](t, connectErr)
						if p.GetDetail()+p.GetTitle() != text {
							t.Errorf("%s: Problem = %.80v", field, p)
						}
						if detail[*errdetails.BadRequest](t, connectErr).GetFieldViolations()[0].GetDescription() != text {
							t.Errorf("%s: no BadRequest", field)
						}
					})
				})
			}
		})
	}
}
