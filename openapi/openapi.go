// Package openapi holds Ampersand's platform API spec, embedded, so that a
// program reads the very file the proto schema is generated from
// (ampersand-api.json, beside this file).
package openapi

import _ "embed"

// Spec is ampersand-api.json: Ampersand's public platform API, an OpenAPI
// 3.0 document in JSON.
//
//go:embed ampersand-api.json
var Spec string
