package service

import (
	"context"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/gen/ampersand/v1/ampersandv1connect"
	"github.com/ampersand-connect/gateway/internal/cache"
	"github.com/ampersand-connect/gateway/internal/rest"
	"github.com/ampersand-connect/gateway/internal/translate"
)

// getIntegration is the translator of GetIntegration, as the service uses it.
var getIntegration = func() *translate.Method {
	md := ampersandv1.File_ampersand_v1_integration_service_proto.Services().ByName("IntegrationService").Methods().ByName("GetIntegration")
	m, err := translate.NewMethod(md)
	if err != nil {
		panic(err)
	}
	return m
}()

// decodeIntegration translates the body of GetIntegration's 200 answer, as
// the service does.
func decodeIntegration(body []byte, unknownEnum func(path, value string)) (*ampersandv1.Integration, error) {
	resp, err := getIntegration.NewResponse(body, "application/json", unknownEnum)
	if err != nil {
		return nil, err
	}
	return resp.(*ampersandv1.GetIntegrationResponse).GetIntegration(), nil
}

func TestDecodeIntegrationHelper(t *testing.T) {
	if _, err := decodeIntegration([]byte(`{"id":"x"}`), nil); err != nil {
		t.Fatal(err)
	}
}

// integrationHandler is the Connect handler of IntegrationService alone.
func integrationHandler(svc *Service, opts ...connect.HandlerOption) (string, http.Handler) {
	for _, h := range svc.Handlers(opts...) {
		if h.Path == "/"+ampersandv1connect.IntegrationServiceName+"/" {
			return h.Path, h.Handler
		}
	}
	panic("no IntegrationService")
}

// callGetIntegration calls GetIntegration through the service's own entry
// point, with no transport.
func (s *Service) callGetIntegration(ctx context.Context, req *ampersandv1.GetIntegrationRequest, creds rest.Credentials) (*ampersandv1.GetIntegrationResponse, error) {
	resp, err := s.call(ctx, s.operation(ampersandv1connect.IntegrationServiceGetIntegrationProcedure), req, creds, answerMessage)
	if err != nil {
		return nil, err
	}
	return resp.Message.(*ampersandv1.GetIntegrationResponse), nil
}

// getIntegrationKey is the call key of a GetIntegration call.
func getIntegrationKey(creds rest.Credentials, project, integration string) cache.Key {
	req, err := getIntegration.NewRequest(&ampersandv1.GetIntegrationRequest{ProjectIdOrName: project, IntegrationIdOrName: integration})
	if err != nil {
		panic(err)
	}
	return newCallKey(creds, req.Path, req.RawQuery)
}

// translateBody translates the body of GetIntegration's 200 answer, as the
// service does, collecting the unknown enum values reported.
func translateBody(body []byte) (*ampersandv1.GetIntegrationResponse, []string, error) {
	var unknown []string
	integration, err := decodeIntegration(body, func(path, value string) {
		unknown = append(unknown, path+"="+value)
	})
	if err != nil {
		return nil, unknown, err
	}
	return &ampersandv1.GetIntegrationResponse{Integration: integration}, unknown, nil
}
