package service

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/ampersand-connect/gateway/internal/translate"
)

// invalidRequest is the error of a request the service refuses by itself,
// before any upstream call and before credentials are looked at
// ([translate.Method.NewRequest] says why): invalid_argument with a
// BadRequest naming each bad field.
func invalidRequest(err error) *connect.Error {
	var reqErr *translate.RequestError
	if !errors.As(err, &reqErr) || len(reqErr.Violations) == 0 {
		return newError(connect.CodeInvalidArgument, ReasonInvalidRequest, "invalid request: "+validUTF8(err.Error()), nil)
	}
	badRequest := &errdetails.BadRequest{}
	for _, v := range reqErr.Violations {
		badRequest.FieldViolations = append(badRequest.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       v.Field,
			Description: validUTF8(v.Description),
		})
	}
	first := badRequest.FieldViolations[0]
	connectErr := newError(connect.CodeInvalidArgument, ReasonInvalidRequest,
		"invalid request: "+first.Field+": "+first.Description,
		map[string]string{"field": first.Field})
	addDetails(connectErr, badRequest)
	return connectErr
}
