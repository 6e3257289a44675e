package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/translate"
)

func ptr[T any](v T) *T { return &v }

// TestCodeForStatus holds the mapper to every row of the README's "Errors" table.
func TestCodeForStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		statuses  []int
		retryable bool
		want      connect.Code
	}{
		{[]int{400, 422}, false, connect.CodeInvalidArgument},
		{[]int{401}, false, connect.CodeUnauthenticated},
		{[]int{403}, false, connect.CodePermissionDenied},
		{[]int{404, 410}, false, connect.CodeNotFound},
		{[]int{409}, false, connect.CodeAborted},
		{[]int{412}, false, connect.CodeFailedPrecondition},
		{[]int{429}, false, connect.CodeResourceExhausted},
		{[]int{429}, true, connect.CodeResourceExhausted},
		{[]int{500}, false, connect.CodeInternal},
		{[]int{500}, true, connect.CodeUnavailable},
		{[]int{501}, false, connect.CodeUnimplemented},
		{[]int{501}, true, connect.CodeUnimplemented},
		{[]int{408, 502, 503, 504}, false, connect.CodeUnavailable},
		{[]int{402, 405, 406, 411, 413, 415, 418, 451, 499}, false, connect.CodeFailedPrecondition},
		{[]int{402, 418}, true, connect.CodeFailedPrecondition},
		{[]int{505, 507, 511, 599}, false, connect.CodeInternal},
		{[]int{505, 507, 511, 599}, true, connect.CodeUnavailable},
		{[]int{300, 301, 302, 303, 304, 307, 308}, false, connect.CodeInternal},
	}
	for _, tt := range tests {
		for _, status := range tt.statuses {
			if got := codeForStatus(status, tt.retryable); got != tt.want {
				t.Errorf("codeForStatus(%d, retryable=%v) = %v, want %v", status, tt.retryable, got, tt.want)
			}
		}
	}
}

// errorInfo returns the one ErrorInfo of err, failing unless there is exactly one.
func errorInfo(t *testing.T, err *connect.Error) *errdetails.ErrorInfo {
	t.Helper()
	var infos []*errdetails.ErrorInfo
	for _, detail := range err.Details() {
		value, derr := detail.Value()
		if derr != nil {
			t.Fatalf("detail %s: %v", detail.Type(), derr)
		}
		if info, ok := value.(*errdetails.ErrorInfo); ok {
			infos = append(infos, info)
		}
	}
	if len(infos) != 1 {
		t.Fatalf("%d ErrorInfo details, want exactly 1", len(infos))
	}
	if infos[0].GetDomain() != ErrorDomain {
		t.Errorf("domain = %q", infos[0].GetDomain())
	}
	return infos[0]
}

// detail returns the detail of type T, or nil.
func detail[T proto.Message](t *testing.T, err *connect.Error) T {
	t.Helper()
	var zero T
	for _, d := range err.Details() {
		value, derr := d.Value()
		if derr != nil {
			t.Fatalf("detail %s: %v", d.Type(), derr)
		}
		if v, ok := value.(T); ok {
			return v
		}
	}
	return zero
}

func TestToConnectError(t *testing.T) {
	t.Parallel()
	expired := func(cause error) context.Context {
		ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), cause)
		t.Cleanup(cancel)
		return ctx
	}
	background := context.Background()
	tests := []struct {
		name        string
		ctx         context.Context
		err         error
		wantCode    connect.Code
		wantReason  string
		wantMessage string
		wantMeta    map[string]string
		wantRetry   *time.Duration
	}{
		{
			name:        "problem type gives the reason",
			ctx:         background,
			err:         &rest.Error{StatusCode: 404, Problem: &rest.Problem{ProblemDetails: rest.ProblemDetails{Type: "https://api.withampersand.com/problems/integration-not-found", Title: "Not Found", Detail: "no integration named x", RequestID: "req-9"}}},
			wantCode:    connect.CodeNotFound,
			wantReason:  "INTEGRATION_NOT_FOUND",
			wantMessage: "upstream answered 404: no integration named x",
			wantMeta:    map[string]string{"httpStatus": "404", "requestId": "req-9", "problemType": "https://api.withampersand.com/problems/integration-not-found"},
		},
		{
			name:        "urn problem type",
			ctx:         background,
			err:         &rest.Error{StatusCode: 400, Problem: &rest.Problem{ProblemDetails: rest.ProblemDetails{Type: "urn:problem-type:exampleOrganization:exampleProblem", Title: "Bad"}}},
			wantCode:    connect.CodeInvalidArgument,
			wantReason:  "EXAMPLE_PROBLEM",
			wantMessage: "upstream answered 400: Bad",
			wantMeta:    map[string]string{"httpStatus": "400", "problemType": "urn:problem-type:exampleOrganization:exampleProblem"},
		},
		{
			name:        "about:blank falls back on the status",
			ctx:         background,
			err:         &rest.Error{StatusCode: 429, Problem: &rest.Problem{ProblemDetails: rest.ProblemDetails{Type: "about:blank"}}},
			wantCode:    connect.CodeResourceExhausted,
			wantReason:  "TOO_MANY_REQUESTS",
			wantMessage: "upstream answered 429: Too Many Requests",
			wantMeta:    map[string]string{"httpStatus": "429"},
		},
		{
			name:        "html 503 with Retry-After",
			ctx:         background,
			err:         &rest.Error{StatusCode: 503, RetryAfter: 3 * time.Second, HasRetryAfter: true},
			wantCode:    connect.CodeUnavailable,
			wantReason:  "SERVICE_UNAVAILABLE",
			wantMessage: "upstream answered 503: Service Unavailable",
			wantMeta:    map[string]string{"httpStatus": "503"},
			wantRetry:   ptr(3 * time.Second),
		},
		{
			name:        "500 retryable problem",
			ctx:         background,
			err:         &rest.Error{StatusCode: 500, Problem: &rest.Problem{ProblemDetails: rest.ProblemDetails{Title: "Internal Server Error", Retryable: ptr(true)}}},
			wantCode:    connect.CodeUnavailable,
			wantReason:  "INTERNAL_SERVER_ERROR",
			wantMessage: "upstream answered 500: Internal Server Error",
			wantMeta:    map[string]string{"httpStatus": "500"},
			wantRetry:   ptr(time.Duration(-1)), // RetryInfo with no delay
		},
		{
			name:        "500 not retryable",
			ctx:         background,
			err:         &rest.Error{StatusCode: 500, Problem: &rest.Problem{ProblemDetails: rest.ProblemDetails{Retryable: ptr(false)}}},
			wantCode:    connect.CodeInternal,
			wantReason:  "INTERNAL_SERVER_ERROR",
			wantMessage: "upstream answered 500: Internal Server Error",
			wantMeta:    map[string]string{"httpStatus": "500"},
		},
		{
			name:        "redirect",
			ctx:         background,
			err:         &rest.Error{StatusCode: 302},
			wantCode:    connect.CodeInternal,
			wantReason:  "FOUND",
			wantMessage: "upstream answered 302: Found",
			wantMeta:    map[string]string{"httpStatus": "302"},
		},
		{
			name:        "unknown status",
			ctx:         background,
			err:         &rest.Error{StatusCode: 599},
			wantCode:    connect.CodeInternal,
			wantReason:  "HTTP_599",
			wantMessage: "upstream answered 599: unknown status",
			wantMeta:    map[string]string{"httpStatus": "599"},
		},
		{
			name:        "invalid 2xx body",
			ctx:         background,
			err:         &rest.InvalidResponseError{StatusCode: 200, Reason: `content type "text/html" is not application/json`},
			wantCode:    connect.CodeInternal,
			wantReason:  ReasonUpstreamResponseInvalid,
			wantMessage: `upstream sent an invalid response: content type "text/html" is not application/json`,
			wantMeta:    map[string]string{"httpStatus": "200"},
		},
		{
			name:        "invalid integration",
			ctx:         background,
			err:         &translate.InvalidError{What: "integration", Path: "latestRevision.content.read.objects[3].requiredFields[1]", Reason: "field has neither fieldName nor mapToName"},
			wantCode:    connect.CodeInternal,
			wantReason:  ReasonUpstreamResponseInvalid,
			wantMessage: "upstream sent an invalid integration: latestRevision.content.read.objects[3].requiredFields[1]: field has neither fieldName nor mapToName",
			wantMeta:    map[string]string{"httpStatus": "200", "path": "latestRevision.content.read.objects[3].requiredFields[1]"},
		},
		{
			name:        "client deadline",
			ctx:         expired(nil),
			err:         fmt.Errorf("get integration: %w", context.DeadlineExceeded),
			wantCode:    connect.CodeDeadlineExceeded,
			wantReason:  ReasonUpstreamTimeout,
			wantMessage: "upstream did not answer before the call's deadline",
			wantMeta:    map[string]string{},
		},
		{
			name:        "service timeout",
			ctx:         expired(errUpstreamTimeout),
			err:         fmt.Errorf("get integration: %w", errors.Join(context.DeadlineExceeded, errUpstreamTimeout)),
			wantCode:    connect.CodeUnavailable,
			wantReason:  ReasonUpstreamTimeout,
			wantMessage: "upstream did not answer within the service's upstream timeout",
			wantMeta:    map[string]string{},
		},
		{
			name:        "connection refused",
			ctx:         background,
			err:         &rest.UnreachableError{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
			wantCode:    connect.CodeUnavailable,
			wantReason:  ReasonUpstreamUnreachable,
			wantMessage: "upstream is unreachable",
			wantMeta:    map[string]string{},
		},
		{
			name:        "client canceled",
			ctx:         background,
			err:         fmt.Errorf("get integration: %w", context.Canceled),
			wantCode:    connect.CodeCanceled,
			wantReason:  ReasonCanceled,
			wantMessage: "the call was canceled",
			wantMeta:    map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := toConnectError(tt.ctx, tt.err, redactor{})
			if err.Code() != tt.wantCode {
				t.Errorf("code = %v, want %v", err.Code(), tt.wantCode)
			}
			if err.Message() != tt.wantMessage {
				t.Errorf("message = %q, want %q", err.Message(), tt.wantMessage)
			}
			info := errorInfo(t, err)
			if info.GetReason() != tt.wantReason {
				t.Errorf("reason = %q, want %q", info.GetReason(), tt.wantReason)
			}
			if fmt.Sprint(info.GetMetadata()) != fmt.Sprint(tt.wantMeta) {
				t.Errorf("metadata = %v, want %v", info.GetMetadata(), tt.wantMeta)
			}
			retry := detail[*errdetails.RetryInfo](t, err)
			switch {
			case tt.wantRetry == nil && retry != nil:
				t.Errorf("unexpected RetryInfo %v", retry)
			case tt.wantRetry != nil && retry == nil:
				t.Error("no RetryInfo")
			case tt.wantRetry != nil && *tt.wantRetry >= 0 && retry.GetRetryDelay().AsDuration() != *tt.wantRetry:
				t.Errorf("retry delay = %v, want %v", retry.GetRetryDelay().AsDuration(), *tt.wantRetry)
			}
			if tt.err.(interface{ Error() string }) != nil && detail[*ampersandv1.Problem](t, err) != nil {
				var upstream *rest.Error
				if !errors.As(tt.err, &upstream) || upstream.Problem == nil {
					t.Error("a Problem detail without an upstream problem")
				}
			}
		})
	}
}

// TestFullProblemDetails maps a problem document holding every property
// of the schema and checks every detail.
func TestFullProblemDetails(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/problems/full.json")
	if err != nil {
		t.Fatal(err)
	}
	problem, err := rest.DecodeProblem(body)
	if err != nil {
		t.Fatal(err)
	}
	connectErr := toConnectError(context.Background(), &rest.Error{StatusCode: 422, Problem: problem, RetryAfter: time.Hour, HasRetryAfter: true}, redactor{})
	if connectErr.Code() != connect.CodeInvalidArgument {
		t.Errorf("code = %v", connectErr.Code())
	}
	if connectErr.Message() != "upstream answered 422: The input message is incorrect" {
		t.Errorf("message = %q", connectErr.Message())
	}
	info := errorInfo(t, connectErr)
	if info.GetReason() != "INVALID_INPUT" || info.GetMetadata()["requestId"] != "89eb1ffb-2a54-4105-aaae-7bf990f1aa69#87715" || info.GetMetadata()["httpStatus"] != "422" {
		t.Errorf("ErrorInfo = %v", info)
	}

	want := &ampersandv1.Problem{
		Type:         "https://api.withampersand.com/problems/invalid-input",
		Href:         "https://docs.withampersand.com/problems/invalid-input",
		Title:        "Bad Request",
		Status:       ptr[int32](422),
		Detail:       "The input message is incorrect",
		Instance:     "urn:uuid:123e4567-e89b-12d3-a456-426614174000",
		Subsystem:    "api",
		Time:         timestamppb.New(time.Date(2024, 4, 22, 18, 55, 28, 456076000, time.UTC)),
		RequestId:    "89eb1ffb-2a54-4105-aaae-7bf990f1aa69#87715",
		Causes:       []string{"database connection failed", "database query failed"},
		Remedy:       "Shorten your input to be under 100 characters",
		SupportEmail: "support@withampersand.com",
		SupportPhone: "+1-555-555-5555",
		SupportUrl:   "https://withampersand.com/support",
		Retryable:    ptr(true),
		RetryAfter:   timestamppb.New(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)),
		Context:      mustStruct(t, map[string]any{"name": "Rick Sanchez", "nested": map[string]any{"n": 1.5, "list": []any{true, nil}}}),
		Issues: []*ampersandv1.InputValidationIssue{
			{
				Type:   "about:blank",
				Detail: "exampleNumericProperty should be numeric",
				In:     ampersandv1.InputLocation_INPUT_LOCATION_PATH,
				Name:   "exampleNumericProperty",
				Value:  structpb.NewStringValue("abc"),
			},
			{
				Type:         "about:blank",
				Href:         "https://docs.withampersand.com/issues",
				Title:        "Input isn't valid with respect to schema",
				Status:       ptr[int32](422),
				Detail:       "examplePropertyWithPattern a2345678901 doesn't match pattern '^\\d{11}$'",
				Instance:     "urn:uuid:1",
				Subsystem:    "validator",
				Time:         timestamppb.New(time.Date(2024, 4, 22, 18, 55, 28, 0, time.UTC)),
				RequestId:    "req-issue",
				Causes:       []string{"pattern mismatch"},
				Remedy:       "Use 11 digits",
				SupportEmail: "support@withampersand.com",
				SupportPhone: "+1-555-555-5555",
				SupportUrl:   "https://withampersand.com/support",
				Retryable:    ptr(false),
				RetryAfter:   timestamppb.New(time.Date(2024, 4, 22, 19, 0, 0, 0, time.UTC)),
				Context:      mustStruct(t, map[string]any{"pattern": "^\\d{11}$"}),
				In:           ampersandv1.InputLocation_INPUT_LOCATION_BODY,
				Name:         "items[0].examplePropertyWithPattern",
				Value:        structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(1), structpb.NewNullValue()}}),
			},
			{Detail: "an unknown location", In: ampersandv1.InputLocation_INPUT_LOCATION_UNSPECIFIED, Name: "q", Value: structpb.NewNullValue()},
		},
	}
	got := detail[*ampersandv1.Problem](t, connectErr)
	if !proto.Equal(got, want) {
		t.Errorf("Problem =\n%v\nwant\n%v", protojson.Format(got), protojson.Format(want))
	}

	badRequest := detail[*errdetails.BadRequest](t, connectErr)
	wantViolations := []string{
		"exampleNumericProperty: exampleNumericProperty should be numeric",
		"items[0].examplePropertyWithPattern: examplePropertyWithPattern a2345678901 doesn't match pattern '^\\d{11}$'",
		"q: an unknown location",
	}
	var violations []string
	for _, v := range badRequest.GetFieldViolations() {
		violations = append(violations, v.GetField()+": "+v.GetDescription())
	}
	if strings.Join(violations, "\n") != strings.Join(wantViolations, "\n") {
		t.Errorf("violations = %q", violations)
	}

	retry := detail[*errdetails.RetryInfo](t, connectErr)
	if d := retry.GetRetryDelay().AsDuration(); d < 24*time.Hour {
		t.Errorf("retry delay = %v: the problem's retryAfter must win over the header", d)
	}
	if requestInfo := detail[*errdetails.RequestInfo](t, connectErr); requestInfo.GetRequestId() != "89eb1ffb-2a54-4105-aaae-7bf990f1aa69#87715" {
		t.Errorf("RequestInfo = %v", requestInfo)
	}
	help := detail[*errdetails.Help](t, connectErr)
	if len(help.GetLinks()) != 2 || help.GetLinks()[0].GetUrl() != want.Href || help.GetLinks()[1].GetUrl() != want.SupportUrl {
		t.Errorf("Help = %v", help)
	}
}

func TestNonProblemErrorHasNoProblemDetails(t *testing.T) {
	t.Parallel()
	err := toConnectError(context.Background(), &rest.Error{StatusCode: http.StatusBadGateway}, redactor{})
	if len(err.Details()) != 1 {
		t.Errorf("details = %d, want only the ErrorInfo", len(err.Details()))
	}
	if detail[*ampersandv1.Problem](t, err) != nil || detail[*errdetails.RetryInfo](t, err) != nil {
		t.Error("unexpected details")
	}
}

func TestReasonFromType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://api.withampersand.com/problems/integration-not-found": "INTEGRATION_NOT_FOUND",
		"https://api.withampersand.com/problems/integrationNotFound/":  "INTEGRATION_NOT_FOUND",
		"https://example.com/probs/out_of_credit?lang=en#x":            "OUT_OF_CREDIT",
		"urn:problem-type:exampleOrganization:exampleProblem":          "EXAMPLE_PROBLEM",
		"urn:problem-type:ampersand:RateLimitExceeded":                 "RATE_LIMIT_EXCEEDED",
		"tag:withampersand.com,2024:quota.exceeded":                    "QUOTA_EXCEEDED",
		"https://example.com/":                                         "EXAMPLE_COM",
		"https://example.com/probs/404":                                "",
		"https://example.com/probs/ünïcode":                            "N_CODE",
		"OAuth2TokenExpired":                                           "OAUTH2_TOKEN_EXPIRED",
	} {
		if got := reasonFromType(in); got != want {
			t.Errorf("reasonFromType(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
