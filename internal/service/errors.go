package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/translate"
)

// ErrorDomain is the domain of every error's google.rpc.ErrorInfo.
const ErrorDomain = "api.withampersand.com"

// The reasons of the errors the service makes itself.
const (
	ReasonInvalidRequest          = "INVALID_REQUEST"
	ReasonMissingCredentials      = "MISSING_CREDENTIALS"
	ReasonUpstreamResponseInvalid = "UPSTREAM_RESPONSE_INVALID"
	ReasonUpstreamUnreachable     = "UPSTREAM_UNREACHABLE"
	ReasonUpstreamTimeout         = "UPSTREAM_TIMEOUT"
	ReasonCanceled                = "CANCELED"
	ReasonInternal                = "INTERNAL"
	ReasonOverloaded              = "OVERLOADED"
)

// ShedRetryDelay is the delay of the RetryInfo of a call refused because
// the service was serving its most calls at once (see [WithMaxInFlight]).
const ShedRetryDelay = time.Second

// errUpstreamTimeout is the cause of a call context whose upstream budget,
// the service's own -upstream-timeout, ran out before the client's deadline.
var errUpstreamTimeout = errors.New("upstream timeout")

// maxMessageLen bounds the upstream text quoted in an error message.
const maxMessageLen = 1024

// toConnectError converts an error of an upstream call made with ctx into a
// Connect error: the one place where errors leave the service. The code
// follows the README's "Errors" table; every error carries exactly one
// ErrorInfo. The upstream's text goes through redact, in the message and in
// every detail.
func toConnectError(ctx context.Context, err error, redact redactor) *connect.Error {
	var (
		upstreamErr    *rest.Error
		invalidResp    *rest.InvalidResponseError
		invalidContent *translate.InvalidError
		unreachable    *rest.UnreachableError
	)
	switch {
	case errors.As(err, &upstreamErr):
		return fromUpstream(upstreamErr, redact)
	case errors.As(err, &invalidResp):
		return newError(connect.CodeInternal, ReasonUpstreamResponseInvalid,
			"upstream sent an invalid response: "+redact.text(invalidResp.Reason),
			map[string]string{"httpStatus": strconv.Itoa(invalidResp.StatusCode)})
	case errors.As(err, &invalidContent):
		return newError(connect.CodeInternal, ReasonUpstreamResponseInvalid,
			"upstream sent an invalid "+invalidContent.What+": "+redact.text(invalidContent.Error()),
			map[string]string{"httpStatus": strconv.Itoa(cmp.Or(invalidContent.StatusCode, 200)), "path": redact.text(invalidContent.Path)})
	case errors.Is(err, errUpstreamTimeout), errors.Is(context.Cause(ctx), errUpstreamTimeout):
		return newError(connect.CodeUnavailable, ReasonUpstreamTimeout,
			"upstream did not answer within the service's upstream timeout", nil)
	case errors.Is(err, context.DeadlineExceeded):
		return newError(connect.CodeDeadlineExceeded, ReasonUpstreamTimeout,
			"upstream did not answer before the call's deadline", nil)
	case errors.Is(err, context.Canceled):
		return newError(connect.CodeCanceled, ReasonCanceled, "the call was canceled", nil)
	case errors.As(err, &unreachable):
		return newError(connect.CodeUnavailable, ReasonUpstreamUnreachable, "upstream is unreachable", nil)
	default:
		return newError(connect.CodeInternal, ReasonInternal, "internal error", nil)
	}
}

// ConnectError converts any error of a call made with ctx into a Connect
// error with its ErrorInfo, as the service's own errors are: a
// *connect.Error is returned as it is, a context's error becomes canceled
// or deadline_exceeded, anything else internal. connect-go returns the
// context's error itself for a call whose context ended before the
// handler ran.
func ConnectError(ctx context.Context, err error) *connect.Error {
	if connectErr := new(connect.Error); errors.As(err, &connectErr) {
		return connectErr
	}
	return toConnectError(ctx, err, redactor{})
}

// overloadedError is the error of a call refused because max calls were in
// flight.
func overloadedError(max int64) *connect.Error {
	connectErr := newError(connect.CodeResourceExhausted, ReasonOverloaded,
		"the server is serving its most calls at once: try again shortly",
		map[string]string{"maxInFlight": strconv.FormatInt(max, 10)})
	addDetails(connectErr, &errdetails.RetryInfo{RetryDelay: durationpb.New(ShedRetryDelay)})
	return connectErr
}

// InternalError is the error of a call that failed for a bug of the server
// (a panic, say): internal, with an ErrorInfo of reason INTERNAL, and a
// message that says nothing of the cause.
func InternalError() *connect.Error {
	return newError(connect.CodeInternal, ReasonInternal, "internal error", nil)
}

// codeForStatus maps an upstream HTTP status to a Connect code, as the README's
// "Errors" table does, one line per row.
func codeForStatus(status int, retryable bool) connect.Code {
	switch status {
	case 400, 422:
		return connect.CodeInvalidArgument
	case 401:
		return connect.CodeUnauthenticated
	case 403:
		return connect.CodePermissionDenied
	case 404, 410:
		return connect.CodeNotFound
	case 409:
		return connect.CodeAborted
	case 412:
		return connect.CodeFailedPrecondition
	case 429:
		return connect.CodeResourceExhausted
	case 501:
		return connect.CodeUnimplemented
	case 408, 502, 503, 504:
		return connect.CodeUnavailable
	}
	switch {
	case status >= 500 && status <= 599 && retryable:
		return connect.CodeUnavailable
	case status >= 500 && status <= 599:
		return connect.CodeInternal
	case status >= 400 && status <= 499:
		return connect.CodeFailedPrecondition
	default: // 1xx, 3xx: redirects are never followed
		return connect.CodeInternal
	}
}

// fromUpstream converts a non-2xx upstream answer, its text redacted.
func fromUpstream(e *rest.Error, redact redactor) *connect.Error {
	p := e.Problem
	retryable := e.HasRetryAfter || (p != nil && p.Retryable != nil && *p.Retryable)
	code := codeForStatus(e.StatusCode, retryable)

	statusText := http.StatusText(e.StatusCode)
	text := statusText
	if p != nil && p.Summary() != "" {
		text = truncate(redact.text(p.Summary()), maxMessageLen) // redacted whole, before a cut could split a secret
	}
	if text == "" {
		text = "unknown status"
	}
	message := fmt.Sprintf("upstream answered %d: %s", e.StatusCode, text)

	metadata := map[string]string{"httpStatus": strconv.Itoa(e.StatusCode)}
	reason := ""
	if p != nil {
		if p.RequestID != "" {
			metadata["requestId"] = redact.text(p.RequestID)
		}
		if p.Type != "" && p.Type != "about:blank" {
			metadata["problemType"] = redact.text(p.Type)
			reason = reasonFromType(metadata["problemType"])
		}
	}
	if reason == "" {
		reason = upperSnake(statusText)
	}
	if reason == "" {
		reason = "HTTP_" + strconv.Itoa(e.StatusCode)
	}
	connectErr := newError(code, reason, message, metadata)

	var retryInfo *errdetails.RetryInfo
	if retryable {
		retryInfo = &errdetails.RetryInfo{}
		switch {
		case p != nil && p.RetryAfter != "":
			if at, err := translate.ParseTimestamp(p.RetryAfter); err == nil {
				retryInfo.RetryDelay = durationpb.New(max(time.Until(at.AsTime()), 0))
			}
		case e.HasRetryAfter:
			retryInfo.RetryDelay = durationpb.New(e.RetryAfter)
		}
	}
	if p == nil {
		addDetails(connectErr, retryInfo)
		return connectErr
	}
	details := []proto.Message{problem(p)}
	if len(p.Issues) > 0 {
		badRequest := &errdetails.BadRequest{}
		for _, issue := range p.Issues {
			if issue == nil {
				continue
			}
			badRequest.FieldViolations = append(badRequest.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       issue.Name,
				Description: issue.Detail,
			})
		}
		details = append(details, badRequest)
	}
	if retryInfo != nil {
		details = append(details, retryInfo)
	}
	if p.RequestID != "" {
		details = append(details, &errdetails.RequestInfo{RequestId: p.RequestID})
	}
	if p.Href != "" || p.SupportURL != "" {
		help := &errdetails.Help{}
		if p.Href != "" {
			help.Links = append(help.Links, &errdetails.Help_Link{Description: "Documentation of the problem type", Url: p.Href})
		}
		if p.SupportURL != "" {
			help.Links = append(help.Links, &errdetails.Help_Link{Description: "Support", Url: p.SupportURL})
		}
		details = append(details, help)
	}
	for _, detail := range details {
		redact.message(detail)
	}
	addDetails(connectErr, details...)
	return connectErr
}

// newError returns a Connect error with its ErrorInfo. Its message and
// metadata are made valid UTF-8 (see [validUTF8]), as gRPC needs them to be.
func newError(code connect.Code, reason, message string, metadata map[string]string) *connect.Error {
	connectErr := connect.NewError(code, errors.New(validUTF8(message)))
	if metadata == nil {
		metadata = map[string]string{}
	}
	for k, v := range metadata {
		metadata[k] = validUTF8(v)
	}
	addDetails(connectErr, &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: metadata})
	return connectErr
}

// addDetails adds each non-nil message as a detail. A message that does not
// marshal has its strings made valid UTF-8 (the one reason a detail of the
// service fails to marshal), and is tried again; one that still fails is
// counted and logged (see [DroppedDetails]).
func addDetails[M proto.Message](connectErr *connect.Error, msgs ...M) {
	for _, msg := range msgs {
		if !msg.ProtoReflect().IsValid() {
			continue
		}
		detail, err := connect.NewErrorDetail(msg)
		if err != nil {
			repairUTF8(msg.ProtoReflect())
			detail, err = connect.NewErrorDetail(msg)
		}
		if err != nil {
			dropDetail(msg.ProtoReflect().Descriptor().FullName(), err)
			continue
		}
		connectErr.AddDetail(detail)
	}
}

// reasonFromType derives an ErrorInfo reason from a problem type URI: its
// last path or URN segment in UPPER_SNAKE_CASE.
func reasonFromType(problemType string) string {
	segment := problemType
	if i := strings.IndexAny(segment, "?#"); i >= 0 {
		segment = segment[:i]
	}
	segment = strings.TrimRight(segment, "/:")
	if i := strings.LastIndexAny(segment, "/:"); i >= 0 {
		segment = segment[i+1:]
	}
	return upperSnake(segment)
}

// upperSnake turns "integrationNotFound", "integration-not-found" or
// "Not Found" into "INTEGRATION_NOT_FOUND" / "NOT_FOUND". It returns "" when
// no letter or digit is left, or when the result would start with a digit.
func upperSnake(s string) string {
	var b strings.Builder
	var prev rune
	pendingSep := false
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if b.Len() > 0 && (pendingSep || (unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)))) {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(unicode.ToUpper(r))
		default:
			pendingSep = true
		}
		prev = r
	}
	out := b.String()
	if out == "" || (out[0] >= '0' && out[0] <= '9') {
		return ""
	}
	return out
}

// problem translates an upstream problem into its proto message. Values it
// cannot translate (a bad timestamp, a context that is not an object) are
// left unset: a problem is reported as well as it can be.
func problem(in *rest.Problem) *ampersandv1.Problem {
	out := &ampersandv1.Problem{
		Type:         in.Type,
		Href:         in.Href,
		Title:        in.Title,
		Status:       in.Status,
		Detail:       in.Detail,
		Instance:     in.Instance,
		Subsystem:    in.Subsystem,
		Time:         lenientTimestamp(in.Time),
		RequestId:    in.RequestID,
		Causes:       in.Causes,
		Remedy:       in.Remedy,
		SupportEmail: in.SupportEmail,
		SupportPhone: in.SupportPhone,
		SupportUrl:   in.SupportURL,
		Retryable:    in.Retryable,
		RetryAfter:   lenientTimestamp(in.RetryAfter),
		Context:      jsonStruct(in.Context),
	}
	for _, issue := range in.Issues {
		if issue == nil {
			continue
		}
		out.Issues = append(out.Issues, &ampersandv1.InputValidationIssue{
			Type:         issue.Type,
			Href:         issue.Href,
			Title:        issue.Title,
			Status:       issue.Status,
			Detail:       issue.Detail,
			Instance:     issue.Instance,
			Subsystem:    issue.Subsystem,
			Time:         lenientTimestamp(issue.Time),
			RequestId:    issue.RequestID,
			Causes:       issue.Causes,
			Remedy:       issue.Remedy,
			SupportEmail: issue.SupportEmail,
			SupportPhone: issue.SupportPhone,
			SupportUrl:   issue.SupportURL,
			Retryable:    issue.Retryable,
			RetryAfter:   lenientTimestamp(issue.RetryAfter),
			Context:      jsonStruct(issue.Context),
			In:           inputLocation(issue.In),
			Name:         issue.Name,
			Value:        jsonValue(issue.Value),
		})
	}
	return out
}

func inputLocation(in string) ampersandv1.InputLocation {
	switch in {
	case "body":
		return ampersandv1.InputLocation_INPUT_LOCATION_BODY
	case "header":
		return ampersandv1.InputLocation_INPUT_LOCATION_HEADER
	case "path":
		return ampersandv1.InputLocation_INPUT_LOCATION_PATH
	case "query":
		return ampersandv1.InputLocation_INPUT_LOCATION_QUERY
	default:
		return ampersandv1.InputLocation_INPUT_LOCATION_UNSPECIFIED
	}
}

func lenientTimestamp(in string) *timestamppb.Timestamp {
	if in == "" {
		return nil
	}
	ts, err := translate.ParseTimestamp(in)
	if err != nil {
		return nil
	}
	return ts
}

// jsonStruct decodes a JSON object; anything else (absent, null, not an
// object) is nil.
func jsonStruct(raw []byte) *structpb.Struct {
	if len(raw) == 0 {
		return nil
	}
	out := &structpb.Struct{}
	if err := protojson.Unmarshal(raw, out); err != nil {
		return nil
	}
	return out
}

// jsonValue decodes any JSON value, null included; absent is nil.
func jsonValue(raw []byte) *structpb.Value {
	if len(raw) == 0 {
		return nil
	}
	out := &structpb.Value{}
	if err := protojson.Unmarshal(raw, out); err != nil {
		return nil
	}
	return out
}
