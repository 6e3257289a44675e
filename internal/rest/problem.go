package rest

import "encoding/json"

// ProblemDetails holds the properties of an API Problem: RFC 9457's and
// Ampersand's extensions.
type ProblemDetails struct {
	Type         string          `json:"type"`
	Href         string          `json:"href"`
	Title        string          `json:"title"`
	Status       *int32          `json:"status"`
	Detail       string          `json:"detail"`
	Instance     string          `json:"instance"`
	Subsystem    string          `json:"subsystem"`
	Time         string          `json:"time"`
	RequestID    string          `json:"requestId"`
	Causes       []string        `json:"causes"`
	Remedy       string          `json:"remedy"`
	SupportEmail string          `json:"supportEmail"`
	SupportPhone string          `json:"supportPhone"`
	SupportURL   string          `json:"supportUrl"`
	Retryable    *bool           `json:"retryable"`
	RetryAfter   string          `json:"retryAfter"`
	Context      json.RawMessage `json:"context"`
}

// Summary returns the problem's detail, else its title.
func (p *ProblemDetails) Summary() string {
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// Problem is an application/problem+json document: an API Problem, with the
// issues of an Input Validation Problem.
type Problem struct {
	ProblemDetails
	Issues []*Issue `json:"issues"`
}

// Issue is an issue detected during input validation.
type Issue struct {
	ProblemDetails
	In    string          `json:"in"`
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}
