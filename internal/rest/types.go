package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	gojson "github.com/goccy/go-json"
)

// The types of this file mirror the schema of openapi/get-integration.yaml.
// Objects are pointers and booleans and integers are pointers, so that
// presence survives decoding: a REST null or an absent property is nil.
// Timestamps and enums stay strings: the translator parses them and says
// where a bad one was. Unknown properties are ignored.

// Integration is the 200 answer of GetIntegration.
type Integration struct {
	ID             string    `json:"id"`
	ProjectID      string    `json:"projectId"`
	Name           string    `json:"name"`
	Provider       string    `json:"provider"`
	CreateTime     string    `json:"createTime"`
	UpdateTime     string    `json:"updateTime"`
	LatestRevision *Revision `json:"latestRevision"`
}

// Revision is a revision of an integration.
type Revision struct {
	ID          string   `json:"id"`
	SpecVersion string   `json:"specVersion"`
	CreateTime  string   `json:"createTime"`
	Content     *Content `json:"content"`
}

// Content is the integration as a revision's manifest defines it.
type Content struct {
	Name        string                `json:"name"`
	Provider    string                `json:"provider"`
	DisplayName string                `json:"displayName"`
	Module      string                `json:"module"`
	Read        *ReadIntegration      `json:"read"`
	Write       *WriteIntegration     `json:"write"`
	Proxy       *ProxyIntegration     `json:"proxy"`
	Subscribe   *SubscribeIntegration `json:"subscribe"`
	WatchSchema *WatchSchema          `json:"watchSchema"`
}

// ReadIntegration is the read part of an integration.
type ReadIntegration struct {
	Objects []*IntegrationObject `json:"objects"`
}

// IntegrationObject is one object an integration reads.
type IntegrationObject struct {
	ObjectName         string              `json:"objectName"`
	Destination        string              `json:"destination"`
	Schedule           string              `json:"schedule"`
	MapToName          string              `json:"mapToName"`
	MapToDisplayName   string              `json:"mapToDisplayName"`
	RequiredFields     []*IntegrationField `json:"requiredFields"`
	OptionalFields     []*IntegrationField `json:"optionalFields"`
	OptionalFieldsAuto string              `json:"optionalFieldsAuto"`
	Backfill           *Backfill           `json:"backfill"`
	Delivery           *Delivery           `json:"delivery"`
	Enabled            string              `json:"enabled"`
}

// IntegrationField is a field item: the union of the properties of its two
// variants. An item with FieldName is an existent field; one with MapToName
// and no FieldName is a mapping.
type IntegrationField struct {
	FieldName        string `json:"fieldName"`
	MapToName        string `json:"mapToName"`
	MapToDisplayName string `json:"mapToDisplayName"`
	Default          string `json:"default"`
	Prompt           string `json:"prompt"`
}

// Backfill is how much history an object reads on installation.
type Backfill struct {
	DefaultPeriod *DefaultPeriod `json:"defaultPeriod"`
}

// DefaultPeriod is the period to backfill by default.
type DefaultPeriod struct {
	Days        *int32 `json:"days"`
	FullHistory *bool  `json:"fullHistory"`
}

// Delivery is how an object's data is delivered.
type Delivery struct {
	Mode     string `json:"mode"`
	PageSize *int32 `json:"pageSize"`
}

// WriteIntegration is the write part of an integration.
type WriteIntegration struct {
	Objects []*IntegrationWriteObject `json:"objects"`
}

// IntegrationWriteObject is one object an integration writes.
type IntegrationWriteObject struct {
	ObjectName     string         `json:"objectName"`
	InheritMapping *bool          `json:"inheritMapping"`
	ValueDefaults  *ValueDefaults `json:"valueDefaults"`
}

// ValueDefaults configures default write values for object fields.
type ValueDefaults struct {
	AllowAnyFields *bool `json:"allowAnyFields"`
}

// ProxyIntegration is the proxy part of an integration.
type ProxyIntegration struct {
	Enabled   *bool `json:"enabled"`
	UseModule *bool `json:"useModule"`
}

// SubscribeIntegration is the subscribe part of an integration.
type SubscribeIntegration struct {
	Objects []*IntegrationSubscribeObject `json:"objects"`
}

// IntegrationSubscribeObject is one object whose events are subscribed to.
type IntegrationSubscribeObject struct {
	ObjectName              string                  `json:"objectName"`
	Destination             string                  `json:"destination"`
	InheritFieldsAndMapping *bool                   `json:"inheritFieldsAndMapping"`
	CreateEvent             *CreateEvent            `json:"createEvent"`
	UpdateEvent             *UpdateEvent            `json:"updateEvent"`
	DeleteEvent             *DeleteEvent            `json:"deleteEvent"`
	AssociationChangeEvent  *AssociationChangeEvent `json:"associationChangeEvent"`
	OtherEvents             []string                `json:"otherEvents"`
}

// CreateEvent is a subscription to create events.
type CreateEvent struct {
	Enabled string `json:"enabled"`
}

// UpdateEvent is a subscription to update events.
type UpdateEvent struct {
	Enabled             string   `json:"enabled"`
	WatchFieldsAuto     string   `json:"watchFieldsAuto"`
	RequiredWatchFields []string `json:"requiredWatchFields"`
}

// DeleteEvent is a subscription to delete events.
type DeleteEvent struct {
	Enabled string `json:"enabled"`
}

// AssociationChangeEvent is a subscription to association change events.
type AssociationChangeEvent struct {
	Enabled            string `json:"enabled"`
	IncludeFullRecords *bool  `json:"includeFullRecords"`
}

// WatchSchema configures the monitoring of provider schema changes.
type WatchSchema struct {
	Destination string                 `json:"destination"`
	Schedule    string                 `json:"schedule"`
	AllObjects  *WatchSchemaAllObjects `json:"allObjects"`
}

// WatchSchemaAllObjects is the schema change event configuration for all objects.
type WatchSchemaAllObjects struct {
	FieldCreated *FieldEvent `json:"fieldCreated"`
	FieldDeleted *FieldEvent `json:"fieldDeleted"`
	FieldChanged *FieldEvent `json:"fieldChanged"`
}

// FieldEvent configures the detection of one kind of field change.
type FieldEvent struct {
	Enabled string `json:"enabled"`
}

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

// DecodeIntegration decodes the body of a 200 answer. It fails on malformed
// JSON and on a property of the wrong JSON type; unknown properties are ignored.
//
// It uses github.com/goccy/go-json, which keeps encoding/json's behaviour
// and errors and decodes a typical integration about five times faster
// (BenchmarkDecodeIntegration).
func DecodeIntegration(body []byte) (*Integration, error) {
	if !isJSONObject(body) {
		return nil, fmt.Errorf("decode integration: not a JSON object")
	}
	var integration Integration
	if err := gojson.UnmarshalNoEscape(body, &integration); err != nil {
		return nil, fmt.Errorf("decode integration: %w", describeJSONError(err))
	}
	return &integration, nil
}

// describeJSONError rewrites a decoding error in the schema's terms, with
// no Go type names: "latestRevision.content.read.objects.backfill.defaultPeriod.days:
// got a JSON string, want an integer".
func describeJSONError(err error) error {
	var typeErr *gojson.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("%s: got a JSON %s, want %s", typeErr.Field, jsonKind(typeErr.Value), schemaKind(typeErr.Type))
	}
	var syntaxErr *gojson.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("malformed JSON at byte %d: %w", syntaxErr.Offset, err)
	}
	return err
}

// jsonKind names the JSON value kind an UnmarshalTypeError reports ("number 100.5" → "number").
func jsonKind(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	return kind
}

// schemaKind names the schema type a Go type stands for.
func schemaKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int32, reflect.Int64, reflect.Int:
		return "an integer (32 bits)"
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	default:
		return "another type"
	}
}
