package service

import (
	"errors"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
)

// maxIDLen bounds an ID or name, in bytes.
const maxIDLen = 1024

// validate refuses a request the service can refuse by itself, before any
// upstream call and before credentials are looked at: an invalid_argument
// error with a BadRequest naming each bad field.
func validate(msg *ampersandv1.GetIntegrationRequest) *connect.Error {
	var badRequest *errdetails.BadRequest // made on the first violation only
	for _, f := range []struct{ name, value string }{
		{"project_id_or_name", msg.GetProjectIdOrName()},
		{"integration_id_or_name", msg.GetIntegrationIdOrName()},
	} {
		if err := validateID(f.value); err != nil {
			if badRequest == nil {
				badRequest = &errdetails.BadRequest{}
			}
			badRequest.FieldViolations = append(badRequest.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       f.name,
				Description: err.Error(),
			})
		}
	}
	if badRequest == nil {
		return nil
	}
	first := badRequest.FieldViolations[0]
	connectErr := newError(connect.CodeInvalidArgument, ReasonInvalidRequest,
		"invalid request: "+first.Field+": "+first.Description,
		map[string]string{"field": first.Field})
	addDetails(connectErr, badRequest)
	return connectErr
}

// validateID checks one ID or name. Any other character, '/', '?', '#',
// '%' and spaces among them, is path-escaped by the upstream client.
func validateID(id string) error {
	switch {
	case id == "":
		return errors.New("must not be empty")
	case id == "." || id == "..":
		return errors.New(`must not be "." or ".."`)
	case len(id) > maxIDLen:
		return errors.New("must be at most 1024 bytes")
	case strings.ContainsFunc(id, isControl):
		return errors.New("must not contain control characters")
	}
	return nil
}

func isControl(r rune) bool {
	return r <= 0x1f || r == 0x7f
}
