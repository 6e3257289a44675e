// Package translate turns RPC requests into REST calls and REST answers
// into RPC responses, for every method of the schema, driven by the
// schema itself: the google.api.http rule of each method (verb, path
// template, body, response_body), each field's JSON name (the REST name),
// the REST spelling of each enum value ((ampersand.v1.rest_value)), the
// untagged oneofs ((ampersand.v1.untagged), told apart by their variants'
// required fields, google.api.field_behavior) and the wrapper messages
// ((ampersand.v1.wrapper)) that proto/ampersand/v1/options.proto declares.
//
// What it knows of a message is read once into a plan; decoding is one
// pass over the REST JSON straight into the proto message, with
// encoding/json's rules for property names, UTF-8 and nesting. Unknown
// properties are skipped, null leaves a field unset, a value of the wrong
// JSON type is an [*InvalidError], an enum value the schema does not know
// becomes the enum's zero value and is reported.
package translate
