package rest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Error is an upstream answer whose status is not 2xx.
type Error struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// RetryAfter is the delay of the Retry-After header (seconds or an HTTP
	// date, relative to the answer's arrival), when HasRetryAfter.
	RetryAfter time.Duration
	// HasRetryAfter reports whether the answer had a valid Retry-After header.
	HasRetryAfter bool
	// Problem is the decoded application/problem+json body, or nil when the
	// body was not a problem document.
	Problem *Problem
}

// Error returns the status and the problem's detail or title, if any.
func (e *Error) Error() string {
	msg := fmt.Sprintf("upstream answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Problem != nil {
		if text := e.Problem.Summary(); text != "" {
			msg += ": " + text
		}
	}
	return msg
}

// Status returns the status code and its text, e.g. "503 Service Unavailable".
func (e *Error) Status() string {
	return strings.TrimSpace(strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode))
}

// InvalidResponseError is a 2xx answer whose body is not a valid integration.
type InvalidResponseError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Reason says what was wrong and where.
	Reason string
}

func (e *InvalidResponseError) Error() string {
	return fmt.Sprintf("invalid upstream response: %s", e.Reason)
}

// UnreachableError is a failure to get an answer from the upstream:
// a refused or reset connection, a DNS or TLS failure, a timeout of the
// transport's own.
type UnreachableError struct {
	// Kind says what went wrong, for logs and metrics.
	Kind Kind
	// Err is the transport's error.
	Err error
}

// newUnreachableError wraps a transport's error, classified.
func newUnreachableError(err error) *UnreachableError {
	return &UnreachableError{Kind: classify(err), Err: err}
}

func (e *UnreachableError) Error() string { return "upstream unreachable: " + e.Err.Error() }

func (e *UnreachableError) Unwrap() error { return e.Err }

// Detail returns the transport's error without the request's URL, which
// [net/http.Client] puts in front of it: what an operator needs in a log.
func (e *UnreachableError) Detail() string {
	var urlErr *url.Error
	if errors.As(e.Err, &urlErr) {
		return urlErr.Err.Error()
	}
	return e.Err.Error()
}

// Kind is why the upstream could not be reached.
type Kind string

// The kinds of [UnreachableError], and of an [Attempt] that got no answer.
const (
	// KindDNS: the upstream's host name did not resolve.
	KindDNS Kind = "dns"
	// KindRefused: nothing listens at the upstream's address.
	KindRefused Kind = "refused"
	// KindTLS: the TLS handshake failed, or the certificate was not valid
	// for the host.
	KindTLS Kind = "tls"
	// KindTimeout: the transport gave up waiting (to connect, for the TLS
	// handshake), or, in an [Attempt], the call's deadline passed first.
	KindTimeout Kind = "timeout"
	// KindReset: the connection was reset or closed before the answer was
	// complete.
	KindReset Kind = "reset"
	// KindOther: any other transport failure.
	KindOther Kind = "other"
	// KindCanceled: the call was canceled before the answer came. Only an
	// [Attempt] has it; an UnreachableError never does.
	KindCanceled Kind = "canceled"
)

// httpResponseToHTTPS ends the error, which has no type of its own, that
// net/http returns when a TLS handshake is answered in plain HTTP.
const httpResponseToHTTPS = "http: server gave HTTP response to HTTPS client"

// classify says why a transport's error kept the upstream from answering.
func classify(err error) Kind {
	var (
		dnsErr      *net.DNSError
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		verifyErr   *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostnameErr x509.HostnameError
		certInvalid x509.CertificateInvalidError
		netErr      net.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.As(err, &recordErr), errors.As(err, &alertErr), errors.As(err, &verifyErr),
		errors.As(err, &unknownAuth), errors.As(err, &hostnameErr), errors.As(err, &certInvalid),
		strings.HasSuffix(err.Error(), httpResponseToHTTPS):
		return KindTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindReset
	default:
		return KindOther
	}
}

// CheckResponse returns nil for a 2xx answer and an [*Error] for any other,
// reading at most 1 MiB of its body to decode an application/problem+json
// document. A body that is not one leaves [Error.Problem] nil.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	e := &Error{StatusCode: resp.StatusCode}
	e.RetryAfter, e.HasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if isMediaType(resp.Header.Get("Content-Type"), "application/problem+json") {
		if body, err := readBody(resp.Body, maxErrorBodySize); err == nil {
			e.Problem, _ = DecodeProblem(body)
		}
	}
	return e
}

// parseRetryAfter parses a Retry-After header value: delay-seconds or an
// HTTP date, taken relative to now. A date in the past is a zero delay.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// DecodeProblem decodes an application/problem+json document. It fails on
// a body that is not a JSON object or whose properties have the wrong types.
func DecodeProblem(body []byte) (*Problem, error) {
	if !isJSONObject(body) {
		return nil, errors.New("decode problem: not a JSON object")
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("decode problem: %w", err)
	}
	return &p, nil
}

// isJSONObject reports whether body, less leading white space, starts an object.
func isJSONObject(body []byte) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	return len(body) > 0 && body[0] == '{'
}
