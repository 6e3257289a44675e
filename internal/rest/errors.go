package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
// a refused or reset connection, a DNS or TLS failure.
type UnreachableError struct {
	Err error
}

func (e *UnreachableError) Error() string { return "upstream unreachable: " + e.Err.Error() }

func (e *UnreachableError) Unwrap() error { return e.Err }

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
