package apigen

// API is the proto surface of an OpenAPI document: what the generator
// prints, and what the tests compare with the spec.
type API struct {
	// Package is the proto package, "ampersand.v1".
	Package string
	// Services are in the order their tags first appear in the spec's paths.
	Services []*Service
	// Messages and Enums are in the order they were first reached: each
	// service's operations in spec order, then the error responses' schemas,
	// then the components no operation reaches.
	Messages []*Message
	Enums    []*Enum
}

// Service is the service of one OpenAPI tag.
type Service struct {
	Name    string // "ProviderAppService"
	Tag     string // "Provider App"
	File    string // "ampersand/v1/provider_app_service.proto"
	Methods []*Method
}

// Method is the RPC of one operation.
type Method struct {
	Name        string // "ListInstallations"
	OperationID string // "listInstallations"
	Summary     string
	Description string
	Deprecated  bool
	Verb        string // "GET", "POST", "PUT", "PATCH", "DELETE"
	Path        string // the spec's path: "/projects/{projectIdOrName}"
	// Template is the google.api.http path: the spec's path with each
	// parameter replaced by the request field that fills it.
	Template string
	// Body is the google.api.http body: "" (no body), "*" (every request
	// field not in the path), or the request field holding the body.
	Body string
	// ResponseBody names the response field holding the REST response body,
	// or is "" when the response message is the body itself (or there is no
	// body).
	ResponseBody string
	// TextResponse reports that the success body is text/plain.
	TextResponse bool
	Request      *Message
	Response     *Message
}

// Message is a proto message.
type Message struct {
	Name       string
	File       string
	Comment    string
	Deprecated bool
	// Fields are every field, those of oneofs included, in number order
	// once numbered.
	Fields []*Field
	Oneofs []*Oneof
	// Wrapper marks a message that stands for a list or a map held in a map
	// or a list: its REST value is its one field's value.
	Wrapper bool
	// Reserved are the numbers and names a previous revision of the spec
	// used and this one dropped.
	Reserved []Reserved
	// origin names the schema the message comes from, for error messages.
	origin string
	// defaultName is the name the generator derived, before overrides.
	defaultName string
}

// Field is a field of a message.
type Field struct {
	Name string
	// JSONName is the REST name of what the field carries (a property or a
	// parameter); for an untagged oneof's variant, which has no REST name,
	// it is protoc's default.
	JSONName   string
	Number     int
	Type       *Type
	Repeated   bool
	Optional   bool  // proto3 optional: presence of a boolean or a number
	MapValue   *Type // non-nil for map<string, MapValue>
	Oneof      *Oneof
	Comment    string
	Deprecated bool
	Required   bool
}

// Oneof is a proto oneof: a schema's oneOf.
type Oneof struct {
	Name    string
	Comment string
	// Untagged reports that the variants carry no name of their own in the
	// REST JSON: the object is one variant's object, told apart from the
	// others by which required properties it has, with which JSON types.
	Untagged bool
	Fields   []*Field
}

// Type is a field's type: a scalar, a well-known type, a message or an enum.
type Type struct {
	Scalar  string // "string", "bool", "int32", "int64", "double", or a well-known type's full name
	Message *Message
	Enum    *Enum
}

// Name is the type's name as the proto file spells it.
func (t *Type) Name() string {
	switch {
	case t.Message != nil:
		return t.Message.Name
	case t.Enum != nil:
		return t.Enum.Name
	}
	return t.Scalar
}

// Enum is a proto enum: a string enum of the schema.
type Enum struct {
	Name     string
	File     string
	Comment  string
	Values   []*EnumValue // the _UNSPECIFIED zero value first
	Reserved []Reserved
	origin   string
}

// EnumValue is a value of an enum.
type EnumValue struct {
	Name   string // "AUTH_TYPE_OAUTH2"
	Number int
	// REST is the value's REST spelling; "" for the zero value.
	REST string
}

// Reserved is a field or value number and name no longer in use.
type Reserved struct {
	Number int
	Name   string
}

// The well-known types the generator uses.
const (
	timestampType = "google.protobuf.Timestamp"
	structType    = "google.protobuf.Struct"
	valueType     = "google.protobuf.Value"
)
